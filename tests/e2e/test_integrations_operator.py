"""The operator sets up Discord and GitHub for an FSD enrollment: local control plane, the real
operator process, and the local Discord and GitHub stand-ins.

The operator only sees this module's enrollments (``ENROLLMENT_SELECTOR``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from tests.support.fake_discord import FakeDiscord
from tests.support.fake_github import FakeGitHub
from tests.support.fake_http_server import Reply
from tests.support.operator_process import (
    GROUP,
    PLURAL,
    VERSION,
    OperatorProcess,
    condition,
    delete_enrollment,
    enrollment_body,
    start_operator,
    wait_condition,
)

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]

SUFFIX = secrets.token_hex(3)
RUN_LABEL = ("apranova.io/test-run", f"integrations-{SUFFIX}")
DISCORD_TOKEN = f"discord-e2e-token-{SUFFIX}"
GITHUB_TOKEN = f"ghp_e2e_token_{SUFFIX}"
CHANNEL = "1095082998814851082"
ORG = "apranova-students"
TEMPLATE = "apranova/fsd-template"
GITHUB_LOGIN = "ada-lovelace"


@pytest.fixture(scope="module")
def fake_discord() -> Iterator[FakeDiscord]:
    with FakeDiscord(DISCORD_TOKEN, CHANNEL) as server:
        yield server


@pytest.fixture(scope="module")
def fake_github() -> Iterator[FakeGitHub]:
    with FakeGitHub(GITHUB_TOKEN, ORG, TEMPLATE) as server:
        yield server


@pytest.fixture(scope="module")
def operator(
    crds_applied: str, fake_discord: FakeDiscord, fake_github: FakeGitHub, test_output_dir: Path
) -> Iterator[OperatorProcess]:
    process = start_operator(
        crds_applied,
        {
            "ENROLLMENT_SELECTOR": f"{RUN_LABEL[0]}={RUN_LABEL[1]}",
            "DISCORD_BOT_TOKEN": DISCORD_TOKEN,
            "DISCORD_CHANNEL_ID": CHANNEL,
            "DISCORD_API_BASE": fake_discord.api_base,
            "GITHUB_TOKEN": GITHUB_TOKEN,
            "GITHUB_ORG": ORG,
            "GITHUB_TEMPLATE_REPO": TEMPLATE,
            "GITHUB_API_URL": fake_github.url,
        },
        test_output_dir / f"operator-integrations-{SUFFIX}.log",
    )
    yield process
    process.stop()


@pytest.fixture
def username(objects: client.CustomObjectsApi) -> Iterator[str]:
    name = f"int-{SUFFIX}-{secrets.token_hex(2)}"
    yield name
    delete_enrollment(objects, name)


def create_fsd_enrollment(objects: client.CustomObjectsApi, username: str) -> None:
    body = enrollment_body(username, "FSD", labels={RUN_LABEL[0]: RUN_LABEL[1]})
    body["spec"]["student"]["githubUsername"] = GITHUB_LOGIN
    objects.create_cluster_custom_object(GROUP, VERSION, PLURAL, body)


def test_fsd_enrollment_gets_invite_and_repository_and_deletion_archives_it(
    operator: OperatorProcess,
    fake_discord: FakeDiscord,
    fake_github: FakeGitHub,
    objects: client.CustomObjectsApi,
    username: str,
) -> None:
    repository = f"{ORG}/student-{username}"
    create_fsd_enrollment(objects, username)
    enrollment = wait_condition(objects, username, "IntegrationsReady", "True", "Provisioned")

    integrations = enrollment["status"]["integrations"]
    code = integrations["discordInviteCode"]
    assert code in fake_discord.invites
    assert integrations["discordInvite"] == f"https://discord.gg/{code}"
    assert integrations["githubRepository"] == f"https://github.com/{repository}"
    created = fake_github.repository(repository)
    assert created is not None and created["private"] and not created["archived"]
    assert fake_github.invitations[repository.lower()] == {GITHUB_LOGIN}

    wait_condition(objects, username, "Ready", "True", "AllComponentsReady")
    generated = [
        r for r in fake_github.requests_for("POST") if r.body["name"] == repository.split("/")[1]
    ]
    assert len(generated) == 1
    invited = fake_github.requests_for("PUT", f"/repos/{repository}/collaborators/")
    assert len(invited) == 1
    log = operator.log_path.read_text(errors="replace")
    assert DISCORD_TOKEN not in log and GITHUB_TOKEN not in log
    assert DISCORD_TOKEN not in str(enrollment) and GITHUB_TOKEN not in str(enrollment)

    delete_enrollment(objects, username)
    assert fake_github.repository(repository)["archived"] is True
    assert code not in fake_discord.invites
    assert fake_github.requests_for("DELETE") == []


def test_a_github_outage_never_blocks_the_environment_and_heals(
    operator: OperatorProcess,
    fake_discord: FakeDiscord,
    fake_github: FakeGitHub,
    objects: client.CustomObjectsApi,
    username: str,
) -> None:
    repository = f"{ORG}/student-{username}"
    fake_github.inject(
        Reply(503, {"message": "Service Unavailable"}),
        method="POST",
        path_prefix=f"/repos/{TEMPLATE}/generate",
    )
    create_fsd_enrollment(objects, username)
    failing = wait_condition(objects, username, "IntegrationsReady", "False", "GitHubUnavailable")
    assert condition(failing, "NamespaceReady")["status"] == "True"
    assert failing["status"]["integrations"]["discordInvite"].startswith("https://discord.gg/")
    assert failing["status"]["integrations"]["failedAttempts"] == 1

    healed = wait_condition(objects, username, "IntegrationsReady", "True", "Provisioned")
    assert (
        healed["status"]["integrations"]["githubRepository"] == f"https://github.com/{repository}"
    )
    assert "failedAttempts" not in healed["status"]["integrations"]

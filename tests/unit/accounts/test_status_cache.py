from __future__ import annotations

from typing import Any

from apranova_api.adapters.status_cache import apply_event, host_owners
from apranova_contract.status import enrollment_view, host_of, integrations_settled


def _enrollment(name: str, tools: list[dict[str, Any]], invite: str | None = None) -> dict:
    return {
        "metadata": {"name": name, "resourceVersion": "7"},
        "spec": {"student": {"username": name}},
        "status": {"phase": "Ready", "tools": tools, "integrations": {"discordInvite": invite}},
    }


ADA = _enrollment(
    "ada",
    [
        {"name": "jupyter", "url": "https://jupyter-ada.students.example.com", "ready": True},
        {"name": "superset", "url": "http://Superset-ada.students.example.com:8080/x"},
    ],
    "https://discord.gg/abc",
)


def test_view_reads_phase_tools_and_invite() -> None:
    view = enrollment_view(ADA)
    assert view.phase == "Ready"
    assert [(t.name, t.ready, t.message) for t in view.tools] == [
        ("jupyter", True, ""),
        ("superset", False, ""),
    ]
    assert view.discord_invite == "https://discord.gg/abc"
    assert view.hosts == {"jupyter-ada.students.example.com", "superset-ada.students.example.com"}


def test_view_of_an_enrollment_without_status() -> None:
    view = enrollment_view({"metadata": {"name": "bob"}, "spec": {}})
    assert (view.username, view.phase, view.tools, view.discord_invite) == ("bob", None, (), None)
    assert not view.integrations_settled


def test_integrations_settle_with_their_condition_or_a_final_phase() -> None:
    assert enrollment_view(ADA).integrations_settled
    provisioning = {"phase": "Provisioning", "conditions": []}
    assert not integrations_settled(provisioning)
    unknown = {"type": "IntegrationsReady", "status": "Unknown"}
    assert not integrations_settled({**provisioning, "conditions": [unknown]})
    failed = {"type": "IntegrationsReady", "status": "False"}
    assert integrations_settled({**provisioning, "conditions": [failed]})


def test_events_add_modify_and_delete() -> None:
    views = apply_event({}, "ADDED", ADA)
    views = apply_event(views, "MODIFIED", _enrollment("ada", []))
    assert views["ada"].tools == ()
    assert apply_event(views, "BOOKMARK", {"metadata": {"resourceVersion": "9"}}) == views
    assert apply_event(views, "DELETED", ADA) == {}


def test_hosts_map_to_their_owner() -> None:
    bob = _enrollment("bob", [{"name": "code", "url": "https://code-bob.students.example.com"}])
    owners = host_owners([enrollment_view(ADA), enrollment_view(bob)])
    assert owners["jupyter-ada.students.example.com"] == "ada"
    assert owners["code-bob.students.example.com"] == "bob"
    assert host_of("") is None
    assert host_of("code-bob.example.com") == "code-bob.example.com"

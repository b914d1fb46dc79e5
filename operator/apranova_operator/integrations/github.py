"""GitHub: a private repository per student, generated from the track's template repository.

Requests and answers are planned by pure functions; :func:`ensure_repository`,
:func:`ensure_collaborator` and :func:`retire_repository` run them over a
:data:`~apranova_operator.integrations.provider_http.Transport`.

Idempotency: the repository's name is derived from the username, so a repeated reconcile first
looks it up (``GET /repos/{org}/{name}``) and generates it only when it does not exist; a 422
from the generate call (the name is taken) also means "look it up". A repository with that name
is used only when it is ours: recorded in the status before, or generated from our template.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from apranova_operator.integrations.provider_http import (
    ApiRequest,
    ApiResponse,
    ProviderFailure,
    Transport,
    provider_message,
    seconds,
)

PROVIDER = "GitHub"
API_VERSION = "2022-11-28"
COLLABORATOR_PERMISSION = "push"
SECONDARY_RATE_LIMIT_WAIT = 60.0
"""GitHub's advice when a secondary rate limit answer carries no header: wait a minute."""
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")


@dataclass(frozen=True)
class Repository:
    """What the operator needs of a repository object."""

    full_name: str
    html_url: str
    archived: bool
    template_full_name: str | None


def auth_headers(token: str) -> dict[str, str]:
    """The headers GitHub's REST API documents for every call."""
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": "apranova-operator",
    }


def repository_name(prefix: str, enrollment: str) -> str:
    """An enrollment's repository name: ``prefix`` + its name (a DNS label, valid on GitHub).

    For enrollments named after the username (before purchases) this is ``prefix`` + username.
    """
    return f"{prefix}{enrollment}"


def is_login(value: str) -> bool:
    """True when ``value`` is a valid GitHub login."""
    return bool(_LOGIN.match(value))


def get_repository_request(full_name: str) -> ApiRequest:
    return ApiRequest("GET", f"/repos/{full_name}")


def generate_request(template: str, org: str, name: str, description: str) -> ApiRequest:
    """``POST /repos/{template_owner}/{template_repo}/generate``: a private repo in ``org``."""
    return ApiRequest(
        "POST",
        f"/repos/{template}/generate",
        json={
            "owner": org,
            "name": name,
            "description": description,
            "include_all_branches": False,
            "private": True,
        },
    )


def set_archived_request(full_name: str, archived: bool) -> ApiRequest:
    return ApiRequest("PATCH", f"/repos/{full_name}", json={"archived": archived})


def delete_request(full_name: str) -> ApiRequest:
    return ApiRequest("DELETE", f"/repos/{full_name}")


def collaborator_request(full_name: str, login: str) -> ApiRequest:
    return ApiRequest(
        "PUT",
        f"/repos/{full_name}/collaborators/{login}",
        json={"permission": COLLABORATOR_PERMISSION},
    )


def parse_repository(body: Any) -> Repository:
    """The fields we use of a repository object; a :class:`ProviderFailure` when they're missing."""
    if not isinstance(body, Mapping) or not all(
        isinstance(body.get(key), str) for key in ("full_name", "html_url")
    ):
        raise ProviderFailure(
            f"{PROVIDER}UnexpectedResponse", "GitHub answered without a repository object"
        )
    template = body.get("template_repository")
    template_name = template.get("full_name") if isinstance(template, Mapping) else None
    return Repository(
        full_name=body["full_name"],
        html_url=body["html_url"],
        archived=bool(body.get("archived", False)),
        template_full_name=template_name if isinstance(template_name, str) else None,
    )


def is_ours(repository: Repository, template: str, recorded_full_name: str | None) -> bool:
    """True when the repository was recorded by us before or generated from our template."""
    if (
        recorded_full_name is not None
        and repository.full_name.lower() == recorded_full_name.lower()
    ):
        return True
    return (
        repository.template_full_name is not None
        and repository.template_full_name.lower() == template.lower()
    )


def classify_failure(response: ApiResponse, now: datetime) -> ProviderFailure:
    """A GitHub error answer as a condition reason, a message and the wait GitHub asks for.

    Rate limits come as 403 or 429: with ``retry-after`` (seconds), or with
    ``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset`` (epoch seconds).
    """
    detail = provider_message(response.body)
    suffix = f": {detail}" if detail else ""
    headers = response.headers
    if response.status == 401:
        return ProviderFailure(
            f"{PROVIDER}BadCredentials", f"GitHub rejected the token (401){suffix}"
        )
    if response.status in (403, 429):
        wait = seconds(headers["retry-after"]) if "retry-after" in headers else None
        if wait is None and headers.get("x-ratelimit-remaining") == "0":
            reset = seconds(headers.get("x-ratelimit-reset"))
            if reset is not None:
                wait = max(0.0, reset - now.timestamp())
        if wait is None and response.status == 429:
            wait = SECONDARY_RATE_LIMIT_WAIT
        if wait is not None:
            return ProviderFailure(
                f"{PROVIDER}RateLimited",
                f"GitHub rate limit ({response.status}){suffix}",
                retry_after=wait,
            )
        return ProviderFailure(f"{PROVIDER}Forbidden", f"the token may not do this (403){suffix}")
    if response.status >= 500:
        return ProviderFailure(
            f"{PROVIDER}Unavailable", f"GitHub answered {response.status}{suffix}"
        )
    return ProviderFailure(
        f"{PROVIDER}UnexpectedResponse", f"GitHub answered {response.status}{suffix}"
    )


async def _find(send: Transport, full_name: str, now: datetime) -> Repository | None:
    response = await send(get_repository_request(full_name))
    if response.status == 200:
        return parse_repository(response.body)
    if response.status == 404:
        return None
    raise classify_failure(response, now)


@dataclass(frozen=True)
class RepositoryOutcome:
    repository: Repository
    created: bool


async def ensure_repository(
    send: Transport,
    template: str,
    org: str,
    name: str,
    description: str,
    recorded_full_name: str | None,
    now: datetime,
) -> RepositoryOutcome:
    """The student's repository: found if it exists and is ours, else generated; unarchived
    when a former enrollment of the same student archived it.

    Raises :class:`ProviderFailure` for any failure, including a name taken by a foreign repository.
    """
    full_name = f"{org}/{name}"
    existing = await _find(send, full_name, now)
    created = False
    if existing is None:
        response = await send(generate_request(template, org, name, description))
        if response.status == 201:
            existing, created = parse_repository(response.body), True
        elif response.status == 422:
            existing = await _find(send, full_name, now)
            if existing is None:
                raise ProviderFailure(
                    f"{PROVIDER}UnexpectedResponse",
                    f"GitHub refused to generate {full_name} (422): "
                    f"{provider_message(response.body)}",
                )
        elif response.status == 404:
            raise ProviderFailure(
                f"{PROVIDER}TemplateNotFound",
                f"GITHUB_TEMPLATE_REPO {template} does not exist or the token cannot read it",
            )
        else:
            raise classify_failure(response, now)
    if not created and not is_ours(existing, template, recorded_full_name):
        raise ProviderFailure(
            f"{PROVIDER}RepositoryConflict",
            f"{existing.full_name} exists but was not generated from {template}; "
            "rename it or change GITHUB_REPOSITORY_PREFIX",
        )
    if existing.archived:
        response = await send(set_archived_request(existing.full_name, False))
        if response.status != 200:
            raise classify_failure(response, now)
        existing = parse_repository(response.body)
    return RepositoryOutcome(existing, created)


async def ensure_collaborator(send: Transport, full_name: str, login: str, now: datetime) -> None:
    """Invite ``login`` to push to the repository (201: invited, 204: already a collaborator).

    Raises :class:`ProviderFailure`; a 404 or 422 means GitHub does not accept that login.
    """
    response = await send(collaborator_request(full_name, login))
    if response.status in (201, 204):
        return
    if response.status in (404, 422):
        raise ProviderFailure(
            f"{PROVIDER}CollaboratorRejected",
            f"GitHub did not accept {login!r} as a collaborator ({response.status}): "
            f"{provider_message(response.body)}",
        )
    raise classify_failure(response, now)


RetireOutcome = Literal["archived", "already_archived", "deleted", "absent", "foreign"]


async def retire_repository(
    send: Transport,
    template: str,
    full_name: str,
    recorded_full_name: str | None,
    delete: bool,
    now: datetime,
) -> RetireOutcome:
    """Archive (or, with ``delete``, delete) the student's repository when it is ours.

    Raises :class:`ProviderFailure` for failures; a repository that is gone or already archived
    is fine (a finalizer may run this several times).
    """
    existing = await _find(send, full_name, now)
    if existing is None:
        return "absent"
    if not is_ours(existing, template, recorded_full_name):
        return "foreign"
    if delete:
        response = await send(delete_request(existing.full_name))
        if response.status in (204, 404):
            return "deleted"
        raise classify_failure(response, now)
    if existing.archived:
        return "already_archived"
    response = await send(set_archived_request(existing.full_name, True))
    if response.status == 200:
        return "archived"
    raise classify_failure(response, now)

"""A stand-in for the few GitHub REST endpoints the operator uses, with GitHub's shapes.

- ``POST /repos/{template_owner}/{template_repo}/generate``: 201 and the full repository object
  (with ``template_repository``); 422 ``Repository creation failed.`` when the name is taken;
  404 when the template does not exist.
- ``GET /repos/{owner}/{repo}``: 200 and the repository; 404 ``Not Found``.
- ``PATCH /repos/{owner}/{repo}`` with ``{"archived": bool}``: 200 and the repository.
- ``DELETE /repos/{owner}/{repo}``: 204.
- ``PUT /repos/{owner}/{repo}/collaborators/{username}``: 201 and an invitation, or 204 when the
  user is already a collaborator.
- A wrong or missing token: 401 ``Bad credentials``.

Every answer carries the ``x-ratelimit-*`` headers. :meth:`FakeGitHub.primary_rate_limit_next`
and :meth:`FakeGitHub.secondary_rate_limit_next` answer GitHub's two kinds of rate limit.
"""

from __future__ import annotations

import itertools
import re
import time
from datetime import UTC, datetime
from typing import Any

from tests.support.fake_http_server import FakeHTTPServer, RecordedRequest, Reply

DOCS = "https://docs.github.com/rest"
NOT_FOUND = {"message": "Not Found", "documentation_url": DOCS, "status": "404"}
BAD_CREDENTIALS = {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}

_GENERATE = re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/generate$")
_REPOSITORY = re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)$")
_COLLABORATOR = re.compile(
    r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/collaborators/(?P<login>[^/]+)$"
)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeGitHub(FakeHTTPServer):
    """GitHub with one organisation holding a template repository; repositories in memory."""

    def __init__(self, token: str, org: str, template: str) -> None:
        super().__init__()
        self.token = token
        self.org = org
        self.template = template
        self.repositories: dict[str, dict[str, Any]] = {}
        self.collaborators: dict[str, set[str]] = {}
        self.invitations: dict[str, set[str]] = {}
        self._ids = itertools.count(700000001)
        owner, name = template.split("/")
        self.add_repository(owner, name, is_template=True)

    def add_repository(
        self, owner: str, name: str, *, is_template: bool = False, template: str | None = None
    ) -> dict[str, Any]:
        """Create a repository directly (a template, or a foreign one for conflict tests)."""
        repo_id = next(self._ids)
        full_name = f"{owner}/{name}"
        now = _now()
        repository: dict[str, Any] = {
            "id": repo_id,
            "node_id": f"R_kgDO{repo_id}",
            "name": name,
            "full_name": full_name,
            "private": True,
            "owner": {
                "login": owner,
                "id": 9000001,
                "node_id": "O_kgDOB",
                "type": "Organization",
                "site_admin": False,
                "html_url": f"https://github.com/{owner}",
            },
            "html_url": f"https://github.com/{full_name}",
            "description": None,
            "fork": False,
            "url": f"https://api.github.com/repos/{full_name}",
            "clone_url": f"https://github.com/{full_name}.git",
            "default_branch": "main",
            "visibility": "private",
            "archived": False,
            "disabled": False,
            "is_template": is_template,
            "created_at": now,
            "updated_at": now,
            "pushed_at": now,
            "permissions": {
                "admin": True,
                "maintain": True,
                "push": True,
                "triage": True,
                "pull": True,
            },
        }
        if template is not None:
            source = self.repositories[template.lower()]
            repository["template_repository"] = {
                key: source[key]
                for key in (
                    "id",
                    "node_id",
                    "name",
                    "full_name",
                    "private",
                    "owner",
                    "html_url",
                    "url",
                    "is_template",
                )
            }
        self.repositories[full_name.lower()] = repository
        return repository

    def repository(self, full_name: str) -> dict[str, Any] | None:
        with self._lock:
            return self.repositories.get(full_name.lower())

    def _rate_headers(self, remaining: int, reset: int) -> dict[str, str]:
        return {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": str(reset),
            "x-ratelimit-used": str(5000 - remaining),
            "x-ratelimit-resource": "core",
            "x-github-api-version-selected": "2022-11-28",
        }

    def primary_rate_limit_next(self, reset_in: int) -> None:
        """403 with ``x-ratelimit-remaining: 0`` and a reset ``reset_in`` seconds from now."""
        self.inject(
            Reply(
                403,
                {
                    "message": "API rate limit exceeded for installation ID 4242.",
                    "documentation_url": f"{DOCS}/overview/rate-limits-for-the-rest-api",
                    "status": "403",
                },
                self._rate_headers(0, int(time.time()) + reset_in),
            )
        )

    def secondary_rate_limit_next(self, retry_after: int) -> None:
        """429 with ``retry-after``, GitHub's secondary rate limit."""
        self.inject(
            Reply(
                429,
                {
                    "message": "You have exceeded a secondary rate limit. Please wait a few "
                    "minutes before you try again.",
                    "documentation_url": f"{DOCS}/overview/rate-limits-for-the-rest-api",
                    "status": "429",
                },
                {"retry-after": str(retry_after), **self._rate_headers(4999, int(time.time()))},
            )
        )

    def handle(self, request: RecordedRequest) -> Reply:
        reply = self._route(request)
        headers = {**self._rate_headers(4990, int(time.time()) + 3600), **reply.headers}
        return Reply(reply.status, reply.body, headers)

    def _route(self, request: RecordedRequest) -> Reply:
        if request.headers.get("authorization") not in (
            f"Bearer {self.token}",
            f"token {self.token}",
        ):
            return Reply(401, BAD_CREDENTIALS)
        if (match := _GENERATE.match(request.path)) and request.method == "POST":
            return self._generate(f"{match['owner']}/{match['repo']}", request.body or {})
        if match := _COLLABORATOR.match(request.path):
            full_name = f"{match['owner']}/{match['repo']}".lower()
            if request.method != "PUT" or full_name not in self.repositories:
                return Reply(404, NOT_FOUND)
            return self._invite(full_name, match["login"])
        if match := _REPOSITORY.match(request.path):
            full_name = f"{match['owner']}/{match['repo']}".lower()
            repository = self.repositories.get(full_name)
            if repository is None:
                return Reply(404, NOT_FOUND)
            if request.method == "GET":
                return Reply(200, repository)
            if request.method == "PATCH":
                if "archived" in (request.body or {}):
                    repository["archived"] = bool(request.body["archived"])
                    repository["updated_at"] = _now()
                return Reply(200, repository)
            if request.method == "DELETE":
                del self.repositories[full_name]
                return Reply(204)
        return Reply(404, NOT_FOUND)

    def _generate(self, template: str, body: dict[str, Any]) -> Reply:
        source = self.repositories.get(template.lower())
        if source is None or not source["is_template"]:
            return Reply(404, NOT_FOUND)
        owner, name = body.get("owner", ""), body.get("name")
        if owner.lower() != self.org.lower():
            return Reply(404, NOT_FOUND)
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9._-]{1,100}", name):
            return Reply(
                422, {"message": "Invalid request.", "documentation_url": DOCS, "status": "422"}
            )
        if f"{owner}/{name}".lower() in self.repositories:
            return Reply(
                422,
                {
                    "message": "Repository creation failed.",
                    "errors": [
                        {
                            "resource": "Repository",
                            "code": "custom",
                            "field": "name",
                            "message": "name already exists on this account",
                        }
                    ],
                    "documentation_url": f"{DOCS}/repos/repos#create-a-repository-using-a-template",
                    "status": "422",
                },
            )
        repository = self.add_repository(self.org, name, template=source["full_name"])
        repository["private"] = bool(body.get("private", False))
        repository["visibility"] = "private" if repository["private"] else "public"
        repository["description"] = body.get("description")
        return Reply(201, repository)

    def _invite(self, full_name: str, login: str) -> Reply:
        if login in self.collaborators.setdefault(full_name, set()):
            return Reply(204)
        self.invitations.setdefault(full_name, set()).add(login)
        repository = self.repositories[full_name]
        return Reply(
            201,
            {
                "id": next(self._ids),
                "node_id": "RI_kwDOB",
                "repository": {
                    key: repository[key]
                    for key in ("id", "name", "full_name", "private", "owner", "html_url")
                },
                "invitee": {"login": login, "id": 583231, "type": "User"},
                "inviter": {"login": "apranova-bot", "id": 9000002, "type": "Bot"},
                "permissions": "write",
                "created_at": _now(),
                "expired": False,
                "url": f"https://api.github.com/user/repository_invitations/{repository['id']}",
                "html_url": f"{repository['html_url']}/invitations",
            },
        )

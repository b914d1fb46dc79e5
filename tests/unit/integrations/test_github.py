"""GitHub request planning and answer reading, without a network."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from apranova_operator.integrations import github
from apranova_operator.integrations.provider_http import ApiResponse, ProviderFailure

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


def test_headers_follow_the_rest_api_documentation() -> None:
    headers = github.auth_headers("ghp_x")
    assert headers["Authorization"] == "Bearer ghp_x"
    assert headers["Accept"] == "application/vnd.github+json"
    assert headers["X-GitHub-Api-Version"] == "2022-11-28"


def test_generate_request_makes_a_private_repository_in_the_organisation() -> None:
    request = github.generate_request("apranova/fsd-template", "students", "student-ada", "d")
    assert (request.method, request.path) == ("POST", "/repos/apranova/fsd-template/generate")
    assert request.json == {
        "owner": "students",
        "name": "student-ada",
        "description": "d",
        "include_all_branches": False,
        "private": True,
    }


def test_other_requests() -> None:
    assert github.repository_name("student-", "ada") == "student-ada"
    assert github.set_archived_request("o/r", True).json == {"archived": True}
    assert github.delete_request("o/r").path == "/repos/o/r"
    collaborator = github.collaborator_request("o/r", "octocat")
    assert (collaborator.method, collaborator.path) == ("PUT", "/repos/o/r/collaborators/octocat")
    assert collaborator.json == {"permission": "push"}


def test_logins() -> None:
    assert github.is_login("octo-cat1")
    assert not github.is_login("-octo")
    assert not github.is_login("octo--cat")
    assert not github.is_login("a" * 40)


def test_parse_repository_and_ownership() -> None:
    body = {
        "full_name": "students/student-ada",
        "html_url": "https://github.com/students/student-ada",
        "archived": False,
        "template_repository": {"full_name": "apranova/fsd-template"},
    }
    repository = github.parse_repository(body)
    assert repository.template_full_name == "apranova/fsd-template"
    assert github.is_ours(repository, "Apranova/FSD-template", None)
    foreign = github.parse_repository({**body, "template_repository": None})
    assert not github.is_ours(foreign, "apranova/fsd-template", None)
    assert github.is_ours(foreign, "apranova/fsd-template", "students/student-ada")
    with pytest.raises(ProviderFailure):
        github.parse_repository({"message": "Not Found"})


@pytest.mark.parametrize(
    ("response", "reason", "retry_after"),
    [
        (ApiResponse(401, {}, {"message": "Bad credentials"}), "BadCredentials", None),
        (
            ApiResponse(
                403,
                {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW.timestamp()) + 90)},
                {"message": "API rate limit exceeded"},
            ),
            "RateLimited",
            90.0,
        ),
        (ApiResponse(403, {"retry-after": "30"}, {}), "RateLimited", 30.0),
        (ApiResponse(429, {"retry-after": "12"}, {}), "RateLimited", 12.0),
        (ApiResponse(429, {}, {}), "RateLimited", github.SECONDARY_RATE_LIMIT_WAIT),
        (
            ApiResponse(
                403, {"x-ratelimit-remaining": "4000"}, {"message": "Resource not accessible"}
            ),
            "Forbidden",
            None,
        ),
        (ApiResponse(503, {}, None), "Unavailable", None),
        (ApiResponse(409, {}, {"message": "Conflict"}), "UnexpectedResponse", None),
    ],
)
def test_classify_failure(response: ApiResponse, reason: str, retry_after: float | None) -> None:
    failure = github.classify_failure(response, NOW)
    assert failure.reason == "GitHub" + reason
    assert failure.retry_after == retry_after

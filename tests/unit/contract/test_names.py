"""Names derived from user input always meet their target's rules, and never collide."""

from __future__ import annotations

import pytest

from apranova_contract import names

HOSTILE = [
    'ada"; DROP SCHEMA public CASCADE; --',
    "Robert'); DROP TABLE students;--",
    "名前",
    "ünïcødé-ñame",
    "a" * 300,
    "",
    "---",
    "UPPER_case",
    "ada lovelace",
    "$$;$$",
]


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("ada@example.com", "ada"),
        ("Ada.Lovelace+tag@Example.com", "ada-lovelace-tag"),
        ("jörg.müller@example.de", "jorg-muller"),
        ("___@example.com", "student"),
        ("x" * 80 + "@example.com", "x" * 30),
    ],
)
def test_username_base(email: str, expected: str) -> None:
    assert names.username_base(email) == expected


def test_username_candidates_are_valid_and_distinct() -> None:
    seen = set()
    for attempt in range(20):
        candidate = names.username_candidate("a" * 60 + "@example.com", attempt)
        assert names.is_dns_label(candidate, names.USERNAME_MAX)
        seen.add(candidate)
    assert len(seen) == 20


@pytest.mark.parametrize("username", HOSTILE)
def test_pg_identifiers_for_hostile_input(username: str) -> None:
    for name in (names.schema_name(username), names.role_name(username)):
        assert len(name.encode("utf-8")) <= names.PG_IDENTIFIER_MAX_BYTES
        assert name.replace("_", "").isalnum() and name.isascii()
        assert name == name.lower() and name[0].isalpha()


def test_pg_identifiers_are_unique() -> None:
    inputs = [*HOSTILE, "ada", "ada-l", "ada-1", "ada_1", "stx-ada", "a" * 40, "a" * 301]
    schemas = [names.schema_name(u) for u in inputs]
    assert len(set(schemas)) == len(inputs)


def test_canonical_usernames_map_readably() -> None:
    assert names.schema_name("ada-lovelace") == "stu_ada_lovelace"
    assert names.role_name("ada") == "stu_ada"


def test_namespace_and_enrollment_names() -> None:
    assert names.namespace_name("ada") == "student-ada"
    assert names.namespace_name("ada-dp") == "student-ada-dp"
    assert names.is_dns_label(names.namespace_name("a" * names.ENROLLMENT_NAME_MAX))
    with pytest.raises(ValueError, match="DNS-1123"):
        names.enrollment_name_candidate("Ada!", "DP")
    with pytest.raises(ValueError, match="DNS-1123"):
        names.namespace_name("a" * (names.ENROLLMENT_NAME_MAX + 1))


def test_enrollment_name_is_username_and_track() -> None:
    assert names.enrollment_name_candidate("ada", "DP") == "ada-dp"
    assert names.enrollment_name_candidate("ada", "FSD") == "ada-fsd"
    assert names.enrollment_name_candidate("ada", "Data Pro!") == "ada-data-pro"


@pytest.mark.parametrize("username", ["a", "ada", "a" * 40, "ab-" * 13 + "z"])
@pytest.mark.parametrize("track", ["DP", "FSD", "x" * 63, "Ünï cødé", "---"])
def test_enrollment_names_fit_every_derived_name(username: str, track: str) -> None:
    seen = set()
    for attempt in range(10):
        name = names.enrollment_name_candidate(username, track, attempt)
        assert names.is_enrollment_name(name, username), name
        assert names.is_dns_label(names.namespace_name(name))
        for tool in ("jupyter", "x" * 15):
            names.tool_host("{tool}-{enrollment}.{baseDomain}", tool, name, "example.com")
        schema = names.schema_name(name)
        assert schema.startswith("stu_") and len(schema.encode()) <= 63
        seen.add(name)
    assert len(seen) == 10


def test_tracks_of_one_student_get_distinct_names() -> None:
    tracks = ["DP", "FSD", "dp-fsd", "y" * 60, "y" * 61]
    for attempt in range(3):
        assert len({names.enrollment_name_candidate("a" * 40, t, attempt) for t in tracks}) == len(
            tracks
        )


def test_is_enrollment_name_accepts_the_legacy_rule() -> None:
    assert names.is_enrollment_name("ada", "ada")
    assert names.is_enrollment_name("ada-dp", "ada")
    assert not names.is_enrollment_name("adam-dp", "ada")
    assert not names.is_enrollment_name("bob", "ada")
    assert not names.is_enrollment_name("ada-" + "x" * 44, "ada")


def test_tool_host() -> None:
    host = names.tool_host("{tool}-{enrollment}.{baseDomain}", "jupyter", "ada-dp", "example.com")
    assert host == "jupyter-ada-dp.example.com"
    legacy = names.tool_host("{tool}-{username}.{baseDomain}", "jupyter", "ada", "example.com")
    assert legacy == "jupyter-ada.example.com"
    with pytest.raises(ValueError, match="not a valid DNS name"):
        names.tool_host("{tool}_{username}.{baseDomain}", "jupyter", "ada", "example.com")

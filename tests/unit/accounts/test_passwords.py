from __future__ import annotations

from apranova_api.accounts.passwords import (
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)


def test_a_long_varied_password_passes_the_policy() -> None:
    assert password_problems("correct horse battery staple", "ada@example.com") == []


def test_each_problem_gets_its_own_message() -> None:
    assert password_problems("short", "ada@example.com") == ["Use at least 12 characters."]
    assert "Use at least 4 different characters." in password_problems("a" * 20, "x@example.com")
    assert "Do not use your email address in the password." in password_problems(
        "Lovelace-ada.lovelace-2024", "ada.lovelace@example.com"
    )
    assert "This password is too common; choose another." in password_problems(
        "Password1234", "x@example.com"
    )
    assert "Use at most 128 characters." in password_problems("ab1!" * 40, "x@example.com")


def test_hash_is_argon2id_and_verifies_only_the_right_password() -> None:
    hashed = hash_password("correct horse battery staple")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "correct horse battery staple")
    assert not verify_password(hashed, "wrong horse battery staple")
    assert not needs_rehash(hashed)


def test_no_hash_never_verifies() -> None:
    assert not verify_password(None, "timing-equaliser-not-a-password")
    assert not verify_password("not-a-hash", "anything")

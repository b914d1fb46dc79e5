"""One rule for a student's email and name, used by the API and stated by the CRD."""

from __future__ import annotations

from pathlib import Path

import yaml

from apranova_contract.student_fields import (
    EMAIL_MAX_LENGTH,
    EMAIL_MIN_LENGTH,
    EMAIL_PATTERN,
    NAME_MAX_LENGTH,
    email_problem,
)

CRD = Path(__file__).resolve().parents[3] / "crds" / "studentenrollments.yaml"


def _student_schema() -> dict:
    crd = yaml.safe_load(CRD.read_text())
    [version] = crd["spec"]["versions"]
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return spec["properties"]["student"]["properties"]


def test_the_crd_states_the_same_limits() -> None:
    student = _student_schema()
    assert student["email"]["maxLength"] == EMAIL_MAX_LENGTH
    assert student["email"]["minLength"] == EMAIL_MIN_LENGTH
    assert student["email"]["pattern"] == EMAIL_PATTERN
    assert student["name"]["maxLength"] == NAME_MAX_LENGTH


def test_email_rule() -> None:
    local = "a" * 240
    assert email_problem(f"{local}@example.com") == ""  # 252 bytes
    assert "at most 254" in email_problem(f"{local}xyz@example.com")
    assert "at most 254" in email_problem("é" * 130 + "@example.com")  # 272 bytes, 142 chars
    assert "not an address" in email_problem("no-at-sign.example.com")
    assert "not an address" in email_problem("a b@example.com")

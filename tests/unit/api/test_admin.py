"""``apranova admin`` against the API's database and the in-memory cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from apranova_api.admin import run
from apranova_api.payments.repair import repair_once
from apranova_api.services import Services
from tests.unit.api.payments_harness import Harness, event, running_api
from tests.unit.api.test_purchases_flow import buy


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'api.db'}"


def admin(h: Harness, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    services: Services = h.services
    status = run(argv, lambda: services)
    out, err = capsys.readouterr()
    return status, out, err


def test_show_lists_enrollments_and_purchases(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_api(database_url) as h:
        buy(h, "DP")
        buy(h, "FSD")
        buy(h, "DP")
        status, out, _ = admin(h, capsys, "--json", "show", "ADA@example.com")
        assert status == 0
        report = json.loads(out)
        assert [(e["enrollment"], e["state"]) for e in report["enrollments"]] == [
            ("ada-dp", "ACTIVE"),
            ("ada-fsd", "ACTIVE"),
        ]
        assert [(p["track"], p["grant"]) for p in report["purchases"]] == [
            ("DP", "grant"),
            ("FSD", "grant"),
            ("DP", "duplicate"),
        ]
        assert report["purchases"][2]["refund_id"].startswith("re_test_")
        status, text, _ = admin(h, capsys, "show", "ada@example.com")
        assert status == 0 and "ada-fsd" in text and "duplicate" in text


def test_suspend_and_resume_one_enrollment_with_a_reason(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_api(database_url) as h:
        buy(h, "DP")
        buy(h, "FSD")
        status, out, _ = admin(h, capsys, "suspend", "ada@example.com", "fsd", "--reason", "abuse")
        assert status == 0 and "SUSPENDED" in out
        fsd = h.cluster.enrollments["ada-fsd"]["spec"]
        assert (fsd["suspended"], fsd["suspensionReason"]) == (True, "suspended by support: abuse")
        assert h.cluster.enrollments["ada-dp"]["spec"]["suspended"] is False
        status, _, _ = admin(h, capsys, "resume", "ada@example.com", "FSD", "--reason", "resolved")
        assert status == 0
        assert h.cluster.enrollments["ada-fsd"]["spec"]["suspended"] is False
        status, out, _ = admin(h, capsys, "--json", "audit", "ada@example.com")
        actions = [(r["action"], r["details"].get("reason")) for r in json.loads(out)]
        assert ("admin_suspend", "abuse") in actions and ("admin_resume", "resolved") in actions


def test_resume_never_lifts_a_payment_suspension(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_api(database_url) as h:
        assert h.stripe is not None
        intent = buy(h, "DP")["payment_intent"]
        h.stripe.refund(intent)
        h.deliver(event("charge.refunded", h.stripe.charge_of(intent)))
        status, out, _ = admin(h, capsys, "resume", "ada@example.com", "DP", "--reason", "please")
        assert status == 1 and "REVOKED" in out
        assert h.cluster.enrollments["ada-dp"]["spec"]["suspended"] is True


def test_a_cluster_outage_is_reported_and_repaired_later(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_api(database_url) as h:
        buy(h, "DP")
        admin(h, capsys, "suspend", "ada@example.com", "DP", "--reason", "x")
        h.cluster.down = True
        status, out, _ = admin(h, capsys, "resume", "ada@example.com", "DP", "--reason", "y")
        assert status == 1 and "repair loop" in out
        h.cluster.down = False
        assert h.cluster.enrollments["ada-dp"]["spec"]["suspended"] is True
        repair_once(h.services)
        assert h.cluster.enrollments["ada-dp"]["spec"]["suspended"] is False


@pytest.mark.parametrize(
    "argv",
    [
        ["show", "nobody@example.com"],
        ["suspend", "ada@example.com", "ML", "--reason", "x"],
        ["suspend", "ada@example.com", "DP"],
        ["suspend", "ada@example.com", "DP", "--reason", "   "],
        ["frobnicate"],
        [],
    ],
)
def test_bad_input_is_one_line_and_status_2(
    database_url: str, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with running_api(database_url) as h:
        buy(h, "DP")
        capsys.readouterr()
        try:
            status, out, err = admin(h, capsys, *argv)
        except SystemExit as exit_:
            status = int(exit_.code or 0)
            out, err = capsys.readouterr()
        assert status == 2
        assert out == "" and len(err.strip().splitlines()) == 1, err
        assert err.startswith("apranova admin: ")

"""Start-up checks of ``apranova api`` and the operational endpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

from apranova_api.main import listening_origins, run_api
from tests.unit.api.payments_harness import event, running_api


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"APRANOVA_ENV": "production"}, "STRIPE_SECRET_KEY is required"),
        ({"STRIPE_SECRET_KEY": "sk_live_x", "STRIPE_WEBHOOK_SECRET": "whsec_w"}, "live key"),
        ({"WEBHOOK_MAX_BODY_BYTES": "12"}, "WEBHOOK_MAX_BODY_BYTES"),
    ],
)
def test_api_refuses_to_start_with_bad_settings(
    env: dict[str, str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert run_api(["--port", "1"]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "never.db").exists()


def test_listening_origins() -> None:
    assert listening_origins("0.0.0.0", 8080) == ["http://127.0.0.1:8080", "http://localhost:8080"]
    assert listening_origins("api.internal", 80) == ["http://api.internal:80"]


def test_health_readiness_and_metrics(tmp_path: Path) -> None:
    with running_api(f"sqlite:///{tmp_path / 'api.db'}") as h:
        assert h.client.get("/healthz").json() == {"status": "ok"}
        assert h.client.get("/readyz").status_code == 200
        h.deliver(event("customer.created", {"id": "cus_1"}))
        metrics = h.client.get("/metrics").text
        assert 'apranova_webhook_deliveries_total{outcome="ignored",type="customer.created"}' in (
            metrics
        )
        h.services.engine.dispose()
        (tmp_path / "api.db").unlink()
        (tmp_path / "api.db").mkdir()
        assert h.client.get("/readyz").status_code == 503

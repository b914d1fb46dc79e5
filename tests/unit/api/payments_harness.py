"""An in-process API for payment unit tests: SQLite file, Stripe stand-in, in-memory cluster.

The in-memory cluster implements the calls of :class:`apranova_api.adapters.kube.Cluster` and can
be switched "down" to exercise the outage paths; the real cluster is covered by tests/e2e.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from apranova_api.adapters.kube import KubeRejectedError, KubeUnavailableError
from apranova_api.app import create_app
from apranova_api.config import ApiSettings
from apranova_api.db import make_engine
from apranova_api.migrate import upgrade_to_head
from apranova_api.payments.signature import sign_payload
from apranova_api.services import Services
from apranova_api.settings import Settings
from tests.support.stripe_standin import StripeStandIn

WEBHOOK_SECRET = "whsec_unit_test_secret"
ORIGIN = "http://shop.test"
TRACKS = {
    "dp": {
        "spec": {"displayName": "Data Professional", "price": {"amount": 49900, "currency": "usd"}}
    },
    "fsd": {
        "spec": {
            "displayName": "Full-Stack Developer",
            "price": {"amount": 59900, "currency": "usd"},
        }
    },
}


@dataclass
class MemoryCluster:
    """Tracks, StudentEnrollments and namespace labels in memory; ``down`` makes every call fail;
    creating an enrollment named in ``refused`` fails as the API server's 422 would (its
    message)."""

    tracks: dict[str, dict[str, Any]] = field(default_factory=lambda: copy.deepcopy(TRACKS))
    enrollments: dict[str, dict[str, Any]] = field(default_factory=dict)
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)
    down: bool = False
    refused: dict[str, str] = field(default_factory=dict)
    creates: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _check(self) -> None:
        if self.down:
            raise KubeUnavailableError("cluster is down (test)")

    def get_track(self, name: str) -> dict[str, Any] | None:
        self._check()
        return copy.deepcopy(self.tracks.get(name))

    def get_enrollment(self, name: str) -> dict[str, Any] | None:
        self._check()
        with self.lock:
            return copy.deepcopy(self.enrollments.get(name))

    def create_enrollment(self, body: dict[str, Any]) -> bool:
        self._check()
        with self.lock:
            self.creates += 1
            name = body["metadata"]["name"]
            if name in self.refused:
                raise KubeRejectedError(f"create enrollment {name}: 422 {self.refused[name]}", 422)
            if name in self.enrollments:
                return False
            self.enrollments[name] = copy.deepcopy(body)
            return True

    def patch_enrollment_spec(self, name: str, spec: dict[str, Any]) -> None:
        self._check()
        with self.lock:
            self.enrollments[name]["spec"].update(spec)

    def list_enrollment_names(self) -> set[str]:
        self._check()
        with self.lock:
            return set(self.enrollments)

    def list_enrollment_suspensions(self) -> dict[str, bool]:
        self._check()
        with self.lock:
            return {n: bool(e["spec"].get("suspended")) for n, e in self.enrollments.items()}

    def get_namespace_labels(self, name: str) -> dict[str, str] | None:
        self._check()
        with self.lock:
            labels = self.namespaces.get(name)
            return dict(labels) if labels is not None else None

    def list_tracks(self) -> list[dict[str, Any]]:
        self._check()
        return copy.deepcopy(list(self.tracks.values()))

    def delete_enrollment(self, name: str) -> bool:
        self._check()
        with self.lock:
            return self.enrollments.pop(name, None) is not None


@dataclass
class Harness:
    """A running app with its collaborators."""

    client: TestClient
    services: Services
    cluster: MemoryCluster
    stripe: StripeStandIn | None

    def db(self) -> Session:
        return self.services.sessions()

    def count(self, model: Any) -> int:
        with self.db() as db:
            return int(db.scalar(select(func.count()).select_from(model)) or 0)

    def checkout(self, track: str = "DP") -> dict[str, str]:
        response = self.client.post(
            "/api/payments/create-simple-checkout/",
            json={
                "track": track,
                "success_url": f"{ORIGIN}/payment/success",
                "cancel_url": f"{ORIGIN}/get-started",
            },
        )
        assert response.status_code == 200, response.text
        return response.json()

    def deliver(self, event: dict[str, Any], secret: str = WEBHOOK_SECRET, **kwargs: Any) -> Any:
        body = json.dumps(event).encode()
        header = sign_payload(secret, body, **kwargs)
        return self.client.post(
            "/api/payments/stripe-webhook/", content=body, headers={"Stripe-Signature": header}
        )


def event(event_type: str, obj: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    """A Stripe event envelope."""
    return {
        "id": event_id or f"evt_{time.monotonic_ns()}",
        "object": "event",
        "type": event_type,
        "data": {"object": obj},
    }


@contextmanager
def running_api(database_url: str, offline: bool = False, **overrides: Any) -> Iterator[Harness]:
    """An app on ``database_url`` (migrated here)."""
    stripe = None if offline else StripeStandIn().start()
    values: dict[str, Any] = {
        "APRANOVA_ENV": "test",
        "DATABASE_URL": database_url,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "ALLOWED_REDIRECT_ORIGINS": ORIGIN,
        "ENROLLMENT_LABELS": "apranova.io/test-run=unit",
    }
    if stripe is not None:
        values.update(STRIPE_SECRET_KEY=stripe.api_key, STRIPE_API_BASE=stripe.url)
    values.update(overrides)
    settings = Settings(**values)
    engine = make_engine(settings.DATABASE_URL)
    upgrade_to_head(engine)
    engine.dispose()
    cluster = MemoryCluster()
    app = create_app(ApiSettings(payments=settings), kube=cluster, repair=False)
    try:
        with TestClient(app) as client:
            yield Harness(client, app.state.services, cluster, stripe)
    finally:
        if stripe is not None:
            stripe.stop()

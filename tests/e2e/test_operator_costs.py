"""What the operator costs the API server, counted (never timed) against the local control plane.

The operator reaches kube-apiserver through a counting proxy (``tests/support/apiserver_proxy``)
and counts its own reconciles, finalizer runs and Events (``/metrics``). One FSD enrollment is
created and becomes Ready; one DP enrollment (with a database to clean up) is deleted. Both use
copies of the default tracks made for this run, so another test run re-applying the default
tracks on the shared cluster cannot add reconciles.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from kubernetes import client

from apranova_contract import labels
from apranova_operator.handlers import child_resource
from apranova_operator.kube import CHILD_KINDS
from tests.support.apiserver_proxy import CountingProxy
from tests.support.operator_process import (
    GROUP,
    PLURAL,
    VERSION,
    OperatorProcess,
    delete_enrollments,
    enrollment_body,
    get_enrollment,
    start_operator,
    wait_for,
)
from tests.support.prometheus import metric_sum

pytestmark = [pytest.mark.cluster, pytest.mark.postgres]

RUN = secrets.token_hex(4)
SELECTOR = f"apranova.io/test-run={RUN}"


_CHILD_PLURALS = {child_resource(kind)[2] for kind in CHILD_KINDS}

TRACKS = {"fsd": f"cfsd{RUN}", "dp": f"cdp{RUN}"}


@pytest.fixture(scope="module")
def tracks(objects: client.CustomObjectsApi) -> Iterator[dict[str, str]]:
    root = Path(__file__).resolve().parents[2]
    for default, name in TRACKS.items():
        body = yaml.safe_load((root / "manifests" / "tracks" / f"{default}.yaml").read_text())
        body["metadata"] = {"name": name}
        objects.create_cluster_custom_object(GROUP, VERSION, "tracks", body)
    yield TRACKS
    for name in TRACKS.values():
        objects.delete_cluster_custom_object(GROUP, VERSION, "tracks", name)


@pytest.fixture(scope="module")
def proxy(crds_applied: str) -> Iterator[CountingProxy]:
    counting = CountingProxy(Path(crds_applied), f"costs-{RUN}").start()
    yield counting
    counting.stop()


@pytest.fixture(scope="module")
def operator(
    proxy: CountingProxy,
    k8s_api_client: client.ApiClient,
    postgres_server: Any,
    test_output_dir: Path,
) -> Iterator[OperatorProcess]:
    process = start_operator(
        str(proxy.kubeconfig(test_output_dir / "kubeconfigs")),
        {"ENROLLMENT_SELECTOR": SELECTOR, "STUDENT_DB_ADMIN_URL": postgres_server.admin_url},
        test_output_dir / f"operator-costs-{RUN}.log",
    )
    yield process
    delete_enrollments(k8s_api_client, SELECTOR)
    process.stop()


def _settled(counter: Callable[[], float], quiet: float = 4.0, limit: float = 60.0) -> float:
    """``counter()`` once it has stopped moving for ``quiet`` seconds."""
    deadline = time.monotonic() + limit
    last, since = counter(), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.5)
        if (now := counter()) != last:
            last, since = now, time.monotonic()
    return last


def _counts(operator: OperatorProcess) -> dict[str, float]:
    text = operator.metrics()
    return {
        "full": metric_sum(text, "apranova_operator_reconciles_total", {"kind": "full"}),
        "finalizer": metric_sum(text, "apranova_operator_finalizer_runs_total"),
        "events": metric_sum(text, "apranova_operator_events_total"),
        "database_cleanups": metric_sum(
            text, "apranova_operator_reconcile_duration_seconds_count", {"step": "cleanup-database"}
        ),
    }


def _delta(
    after: dict[tuple[str, str], int], before: dict[tuple[str, str], int]
) -> dict[tuple[str, str], int]:
    """Requests sent between two snapshots, by verb and resource, watches left out."""
    found = {key: n - before.get(key, 0) for key, n in after.items() if key[0] != "WATCH"}
    return {key: n for key, n in found.items() if n}


def _ready(objects: client.CustomObjectsApi, name: str) -> bool:
    return ((get_enrollment(objects, name) or {}).get("status") or {}).get("phase") == "Ready"


def test_child_watches_are_filtered_by_the_api_server(
    operator: OperatorProcess, proxy: CountingProxy
) -> None:
    plurals = {child_resource(kind)[2] for kind in CHILD_KINDS}

    def watched() -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for path in list(proxy.watches):
            parts = urlsplit(path)
            plural = parts.path.rstrip("/").rsplit("/", 1)[-1]
            found.setdefault(plural, []).extend(parse_qs(parts.query).get("labelSelector", [""]))
        return found

    found = wait_for(lambda: plurals <= watched().keys() and watched(), 60, "child watches")
    for plural in plurals:
        for selector in found[plural]:
            assert labels.ENROLLMENT in selector.split(","), (plural, selector)
            assert SELECTOR in selector.split(","), (plural, selector)
    assert all(SELECTOR in s.split(",") for s in found[labels.ENROLLMENT_PLURAL])


def test_an_enrollment_costs_one_full_reconcile_and_few_events(
    operator: OperatorProcess,
    proxy: CountingProxy,
    objects: client.CustomObjectsApi,
    tracks: dict[str, str],
) -> None:
    name = f"c{RUN}-fsd"
    _settled(proxy.total)
    before = _counts(operator)
    requests_before = proxy.snapshot_by_resource()
    objects.create_cluster_custom_object(
        GROUP, VERSION, PLURAL, enrollment_body(name, tracks["fsd"], {"apranova.io/test-run": RUN})
    )
    wait_for(lambda: _ready(objects, name), 180, f"{name} Ready")
    _settled(proxy.total)
    after = _counts(operator)
    requests = _delta(proxy.snapshot_by_resource(), requests_before)
    # A track created by the fixture may still be re-queueing its (no) enrollments: not ours.
    requests.pop(("LIST", labels.ENROLLMENT_PLURAL), None)
    assert after["full"] - before["full"] == 1
    # NamespaceCreated, Created (every object in one), ReadyTrue: the first status (tools
    # still starting) is no news.
    assert after["events"] - before["events"] <= 3
    applies = {k: n for k, n in requests.items() if k[0] == "PATCH" and k[1] in _CHILD_PLURALS}
    # The enrollment and its track come from the watches, readiness from Deployment events.
    reads = {k: n for k, n in requests.items() if k[0] in ("GET", "LIST")}
    status_writes = requests.get(("PATCH", f"{labels.ENROLLMENT_PLURAL}/status"), 0)
    assert sum(applies.values()) == 12, requests
    assert reads == {("GET", "namespaces"): 1}, requests
    # The first status, the tools' readiness, at most one message-only refresh in between.
    assert status_writes <= 3, requests
    # 12 applies, the namespace check, the finalizer, status writes and Events: was 29.
    assert sum(requests.values()) <= 20, requests


def test_deletion_runs_the_finalizer_at_most_twice_and_cleans_up_once(
    operator: OperatorProcess,
    objects: client.CustomObjectsApi,
    core: client.CoreV1Api,
    tracks: dict[str, str],
) -> None:
    name = f"c{RUN}-dp"
    objects.create_cluster_custom_object(
        GROUP, VERSION, PLURAL, enrollment_body(name, tracks["dp"], {"apranova.io/test-run": RUN})
    )
    wait_for(lambda: _ready(objects, name), 180, f"{name} Ready")
    before = _counts(operator)
    objects.delete_cluster_custom_object(GROUP, VERSION, PLURAL, name)
    wait_for(lambda: get_enrollment(objects, name) is None, 180, f"{name} deleted")
    after = _counts(operator)
    assert after["finalizer"] - before["finalizer"] <= 2
    assert after["database_cleanups"] - before["database_cleanups"] == 1
    assert f"student-{name}" not in {ns.metadata.name for ns in core.list_namespace().items}

"""Random ``StudentEnrollment`` and ``Track`` specs, applied with kubectl: the API server refuses
them, or the operator turns them into a status whose conditions name the problem. The operator
never crashes, and never fails in a way it did not foresee (``ReconcileFailed``/``StepError``).
"""

from __future__ import annotations

import copy
import itertools
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubernetes import client

from tests.conftest import kubectl
from tests.faults import fleet
from tests.support.operator_process import (
    GROUP,
    VERSION,
    OperatorProcess,
    enrollment_body,
    get_enrollment,
    operator_for_test_run,
    wait_for,
)

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1200)]

RUN = "z" + secrets.token_hex(3)
LABELS = {"apranova.io/test-run": f"fuzz-{RUN}"}
UNFORESEEN = {"ReconcileFailed", "StepError"}
COUNTER = itertools.count()
MISSING = object()

VALUES = st.one_of(
    st.just(MISSING),
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.text(max_size=30),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=70),
    st.builds(lambda c, n: c * n, st.sampled_from(["a", "😀", "-", "."]), st.integers(60, 3000)),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    st.sampled_from(["1Gi", "-1", "0", "1e3", "500m", "huge", "jupyterlab", "codeserver", "x:y"]),
)
ENROLLMENT_PATHS = (
    ("spec", "student", "id"),
    ("spec", "student", "email"),
    ("spec", "student", "name"),
    ("spec", "student", "username"),
    ("spec", "student", "githubUsername"),
    ("spec", "track"),
    ("spec", "payment"),
    ("spec", "payment", "amountTotal"),
    ("spec", "suspended"),
    ("spec", "suspensionReason"),
)
TRACK_PATHS = (
    ("spec", "database"),
    ("spec", "quota", "cpu"),
    ("spec", "quota", "storage"),
    ("spec", "quota", "pods"),
    ("spec", "integrations"),
    ("spec", "tools"),
    ("spec", "tools", 0, "name"),
    ("spec", "tools", 0, "kind"),
    ("spec", "tools", 0, "image"),
    ("spec", "tools", 0, "storage"),
    ("spec", "tools", 0, "resources"),
    ("spec", "tools", 0, "port"),
)


@pytest.fixture(scope="module")
def operator(
    crds_applied: str,
    k8s_api_client: client.ApiClient,
    objects: client.CustomObjectsApi,
    test_output_dir: Path,
) -> Iterator[OperatorProcess]:
    with operator_for_test_run(
        crds_applied,
        k8s_api_client,
        f"apranova.io/test-run=fuzz-{RUN}",
        {"RETRY_BASE_SECONDS": "1"},
        test_output_dir / f"operator-fuzz-{RUN}.log",
    ) as process:
        yield process
    tracks = objects.list_cluster_custom_object(GROUP, VERSION, "tracks")["items"]
    for track in tracks:
        if track["metadata"]["name"].startswith(f"fuzz-{RUN}"):
            objects.delete_cluster_custom_object(
                GROUP, VERSION, "tracks", track["metadata"]["name"]
            )


def _mutate(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    holder: Any = body
    for key in path[:-1]:
        try:
            holder = holder[key]
        except (KeyError, IndexError, TypeError):
            return
    if not isinstance(holder, dict | list):
        return
    if value is MISSING:
        if isinstance(holder, dict):
            holder.pop(path[-1], None)
        return
    if isinstance(holder, list) and not (isinstance(path[-1], int) and path[-1] < len(holder)):
        return
    holder[path[-1]] = value


def _applied(kubeconfig: str, body: dict[str, Any]) -> bool:
    result = kubectl(kubeconfig, "apply", "-f", "-", stdin=json.dumps(body), check=False)
    if result.returncode != 0:
        assert result.stderr.strip(), "a refusal must say why"
    return result.returncode == 0


def _settled(objects: client.CustomObjectsApi, name: str) -> dict[str, Any] | None:
    """The enrollment once the operator has written a status that explains itself."""
    status = (get_enrollment(objects, name) or {}).get("status") or {}
    conditions = status.get("conditions") or []
    if not status.get("phase") or not conditions:
        return None
    failing = [c for c in conditions if c.get("status") == "False"]
    if status["phase"] in ("Failed", "Pending") and not any(c.get("message") for c in failing):
        return None
    return status


def _check(operator: OperatorProcess, objects: client.CustomObjectsApi, name: str) -> None:
    status = wait_for(lambda: _settled(objects, name), 90, f"a status on {name}")
    reasons = {c.get("reason") for c in status.get("conditions") or []}
    assert not reasons & UNFORESEEN, status
    assert operator.process is not None and operator.process.poll() is None, "operator died"


FUZZ = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(changes=st.lists(st.tuples(st.sampled_from(ENROLLMENT_PATHS), VALUES), max_size=3))
def test_random_enrollments_are_refused_or_explained(
    operator: OperatorProcess,
    crds_applied: str,
    objects: client.CustomObjectsApi,
    changes: list[tuple[tuple[Any, ...], Any]],
) -> None:
    name = f"fuzz-{RUN}-e{next(COUNTER)}"
    body = enrollment_body(name, "FSD", LABELS)
    for path, value in changes:
        _mutate(body, path, value)
    if not _applied(crds_applied, body):
        return
    try:
        _check(operator, objects, name)
    finally:
        fleet.delete_all(objects, [name])


@FUZZ
@given(changes=st.lists(st.tuples(st.sampled_from(TRACK_PATHS), VALUES), max_size=3))
def test_random_tracks_are_refused_or_explained(
    operator: OperatorProcess,
    crds_applied: str,
    objects: client.CustomObjectsApi,
    changes: list[tuple[tuple[Any, ...], Any]],
) -> None:
    index = next(COUNTER)
    track = copy.deepcopy(fleet.light_track(f"fuzz-{RUN}-t{index}"))
    track["spec"]["database"] = False
    for path, value in changes:
        _mutate(track, path, value)
    if not _applied(crds_applied, track):
        return
    name = f"fuzz-{RUN}-t{index}"
    objects.create_cluster_custom_object(
        GROUP,
        VERSION,
        "studentenrollments",
        enrollment_body(name, track["metadata"]["name"], LABELS),
    )
    try:
        _check(operator, objects, name)
    finally:
        fleet.delete_all(objects, [name])

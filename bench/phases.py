"""The phases of one benchmark run; each returns a plain dict written to its own JSON file.

``latency``: sequential purchases per track through the API and the operator, each paired with
the floor for the same track, alternately. ``burst``: N enrollments at once through the operator,
then the same N through the floor. ``idle``: the operator at rest after the burst. ``delete``:
every enrollment of the run deleted at once. ``api``: webhooks per second and the polls of the
success page and the dashboard.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg2
from kubernetes import client, config
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from apranova_api.accounts.sessions import create_session
from apranova_api.db import make_engine
from apranova_api.models import Payment, User
from apranova_api.payments.signature import sign_payload
from apranova_contract.labels import ENROLLMENT_PLURAL as PLURAL
from apranova_contract.labels import GROUP, TRACK_PLURAL, VERSION
from apranova_operator.kube import Kube
from bench import floor, vegeta
from bench.stack import RUN_LABEL, Stack
from bench.stats import load_average, per_item, percentile, ratio, rounded
from bench.tracker import FirstTimes
from tests.support.operator_process import create_enrollments
from tests.support.prometheus import metric_sum

TRACKS = {"fsd": "FSD", "dp": "DP"}
SAMPLE_TIMEOUT = 300.0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds process ``pid`` has used (Linux ``/proc``, clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """Resident set size of a process in MiB (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


class RssSampler:
    """Samples a process's RSS once a second in a thread; ``samples`` are (seconds, MiB)."""

    def __init__(self, pid: int, start: float) -> None:
        self.pid = pid
        self.start = start
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic() - self.start, rss_mib(self.pid)))
            self._stop.wait(1.0)


def _phase_ready(obj: Mapping[str, Any]) -> bool:
    return (obj.get("status") or {}).get("phase") == "Ready"


def _available(obj: Mapping[str, Any]) -> bool:
    return any(
        c.get("type") == "Available" and c.get("status") == "True"
        for c in (obj.get("status") or {}).get("conditions") or []
    )


def enrollment_tracker(stack: Stack, key: Callable[[Mapping[str, Any]], str | None]) -> FirstTimes:
    objects = stack.objects()

    def list_enrollments(**kwargs: Any) -> Any:
        return objects.list_cluster_custom_object(GROUP, VERSION, PLURAL, **kwargs)

    return FirstTimes(list_enrollments, stack.selector, key, _phase_ready).start()


def deployment_tracker(stack: Stack) -> FirstTimes:
    objects = stack.objects()

    def list_deployments(**kwargs: Any) -> Any:
        return objects.list_cluster_custom_object("apps", "v1", "deployments", **kwargs)

    def key(obj: Mapping[str, Any]) -> str:
        return f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"

    return FirstTimes(list_deployments, f"{floor.FLOOR_LABEL}={stack.run}", key, _available).start()


def operator_metrics(stack: Stack) -> str:
    assert stack.operator is not None
    return stack.operator.metrics()


def reconcile_counts(text: str) -> dict[str, float]:
    """Full reconciles, status refreshes and finalizer runs so far, from the operator's metrics."""
    return {
        "full": metric_sum(text, "apranova_operator_reconciles_total", {"kind": "full"}),
        "refresh": metric_sum(text, "apranova_operator_reconciles_total", {"kind": "refresh"}),
        "finalizer": metric_sum(text, "apranova_operator_finalizer_runs_total"),
        "events": metric_sum(text, "apranova_operator_events_total"),
    }


def apiserver_request_total(stack: Stack) -> float:
    """``apiserver_request_total`` summed over every label (the whole shared cluster)."""
    api = stack.api_client
    method, url, headers, _, _ = api.param_serialize(
        method="GET", resource_path="/metrics", auth_settings=["BearerToken"]
    )
    text = api.call_api(method, url, header_params=headers, _request_timeout=30).read().decode()
    return metric_sum(text, "apiserver_request_total")


def track_spec(stack: Stack, track: str) -> dict[str, Any]:
    return stack.objects().get_cluster_custom_object(GROUP, VERSION, TRACK_PLURAL, track)["spec"]


def floor_kube(stack: Stack) -> Kube:
    kubeconfig = stack.proxies["floor"].kubeconfig(stack.output / "kubeconfigs")
    return Kube(config.new_client_from_config(config_file=str(kubeconfig)))


def wait_settled(counter: Callable[[], float], quiet: float = 5.0, limit: float = 60.0) -> None:
    """Wait until ``counter()`` has not moved for ``quiet`` seconds (at most ``limit``)."""
    deadline = time.monotonic() + limit
    last, since = counter(), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.5)
        now = counter()
        if now != last:
            last, since = now, time.monotonic()


# ------------------------------------------------------------------ latency


def _webhook_target(stack: Stack, url: str, session_id: str) -> vegeta.Target:
    """A signed ``checkout.session.completed`` delivery for ``session_id``, as Stripe sends it."""
    event = {
        "id": "evt_" + secrets.token_hex(8),
        "type": "checkout.session.completed",
        "data": {"object": {"id": session_id}},
    }
    body = json.dumps(event).encode()
    headers = {
        "Stripe-Signature": sign_payload(stack.webhook_secret, body),
        "Content-Type": "application/json",
    }
    return vegeta.Target("POST", f"{url}/api/payments/stripe-webhook/", headers, body)


def _deliver(stack: Stack, api_url: str, session_id: str) -> httpx.Response:
    target = _webhook_target(stack, api_url, session_id)
    return httpx.post(target.url, content=target.body, headers=dict(target.headers), timeout=60)


def _paid_session(stack: Stack, api_url: str, track: str, email: str) -> str:
    assert stack.stripe is not None
    response = httpx.post(
        f"{api_url}/api/payments/create-simple-checkout/",
        json={
            "track": track,
            "success_url": "http://shop.test/payment/success",
            "cancel_url": "http://shop.test/get-started",
        },
        timeout=60,
    )
    response.raise_for_status()
    session_id = response.json()["sessionId"]
    stack.stripe.complete(session_id, email, "Bench Student")
    return session_id


def _session_of(obj: Mapping[str, Any]) -> str | None:
    return ((obj.get("spec") or {}).get("payment") or {}).get("checkoutSessionId")


def latency(stack: Stack, per_track: int) -> dict[str, Any]:
    """``per_track`` purchases per track, each followed by the floor for the same track."""
    assert stack.api is not None
    ready = enrollment_tracker(stack, _session_of)
    available = deployment_tracker(stack)
    kube = floor_kube(stack)
    specs = {key: track_spec(stack, key) for key in TRACKS}
    samples: dict[str, dict[str, list[float]]] = {k: {"ready": [], "floor": []} for k in TRACKS}
    floor_namespaces: list[str] = []
    try:
        for index in range(per_track):
            for key, code in TRACKS.items():
                email = f"bench-{stack.run}-{key}{index}@example.com"
                session_id = _paid_session(stack, stack.api.url, code, email)
                started = time.monotonic()
                answer = _deliver(stack, stack.api.url, session_id)
                answer.raise_for_status()
                if not ready.wait({session_id}, SAMPLE_TIMEOUT):
                    raise TimeoutError(f"{key} enrollment of {session_id} not Ready")
                samples[key]["ready"].append(ready.times[session_id] - started)

                username = f"bf{stack.run}{key}{index}"
                objects = floor.floor_objects(username, key, specs[key], stack.run)
                keys = {
                    f"{o['metadata']['namespace']}/{o['metadata']['name']}"
                    for o in objects
                    if o["kind"] == "Deployment"
                }
                started = time.monotonic()
                asyncio.run(floor.apply_enrollment(kube, objects))
                if not available.wait(keys, SAMPLE_TIMEOUT):
                    raise TimeoutError(f"floor {username} not Available")
                samples[key]["floor"].append(max(available.times[k] for k in keys) - started)
                floor_namespaces.append(objects[0]["metadata"]["name"])
                print(
                    f"  latency {key} #{index}: ready {samples[key]['ready'][-1]:.2f} s, "
                    f"floor {samples[key]['floor'][-1]:.2f} s",
                    flush=True,
                )
    finally:
        ready.stop()
        available.stop()
        asyncio.run(floor.delete_namespaces(kube, floor_namespaces))
    result: dict[str, Any] = {"per_track": per_track, "samples_s": samples}
    for key, values in samples.items():
        p50 = percentile(values["ready"], 50)
        floor_p50 = percentile(values["floor"], 50)
        result[key] = {
            "ready_p50_s": rounded(p50),
            "ready_p95_s": rounded(percentile(values["ready"], 95)),
            "floor_p50_s": rounded(floor_p50),
            "floor_p95_s": rounded(percentile(values["floor"], 95)),
            "ready_to_floor_ratio": ratio(p50, floor_p50),
        }
    result["load_average"] = load_average()
    return result


# ------------------------------------------------------------------ burst, idle, delete


@contextmanager
def profiled(pid: int, out: Path | None, gil: bool = False) -> Iterator[None]:
    """``py-spy record`` of process ``pid`` while the block runs (collapsed stacks in ``out``);
    nothing when ``out`` is None. With ``gil``, only the thread holding the GIL is sampled: where
    the process spends CPU in Python, not where its threads wait."""
    if out is None:
        yield
        return
    spy = Path(sys.executable).with_name("py-spy")
    command = [str(spy), "record", "--pid", str(pid), "--format", "raw", "--rate", "50"]
    command += ["--gil"] if gil else []
    recorder = subprocess.Popen(
        [*command, "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(60)


def burst(stack: Stack, count: int, profile: Path | None = None) -> dict[str, Any]:
    """``count`` FSD enrollments created at once → all Ready; then the floor for the same.
    With ``profile``, the operator is sampled by py-spy meanwhile (collapsed stacks there)."""
    assert stack.operator is not None and stack.operator.process is not None
    pid = stack.operator.process.pid
    objects = stack.objects()
    names = [f"b{stack.run}-{i}" for i in range(count)]
    proxy = stack.proxies["operator"]
    ready = enrollment_tracker(stack, lambda obj: obj["metadata"]["name"])
    metrics_before = reconcile_counts(operator_metrics(stack))
    requests_before = proxy.total()
    cluster_before = apiserver_request_total(stack)
    rss_before = rss_mib(pid)
    started = time.monotonic()
    with RssSampler(pid, started) as sampler, profiled(pid, profile):
        create_enrollments(objects, names, stack.burst_track, {RUN_LABEL: stack.run})
        all_ready = ready.wait(set(names), max(600.0, count * 3.0))
        seconds = time.monotonic() - started
        wait_settled(proxy.total)
    ready.stop()
    requests = proxy.total() - requests_before
    by_verb_after = proxy.snapshot()
    cluster_requests = apiserver_request_total(stack) - cluster_before
    metrics_after = reconcile_counts(operator_metrics(stack))
    progress = sorted(ready.times[name] - started for name in names if name in ready.times)

    floor_result = burst_floor(stack, count)
    return {
        "burst_n": count,
        "all_ready": all_ready,
        "burst_seconds": round(seconds, 2),
        "burst_per_s": round(len(progress) / seconds, 3),
        "progress_s": [round(t, 2) for t in progress],
        "rss_samples": [(round(t, 1), round(m, 1)) for t, m in sampler.samples],
        "operator_rss_before_mib": round(rss_before, 1),
        "operator_peak_rss_mib": round(max(m for _, m in sampler.samples), 1),
        "apiserver_requests": requests,
        "apiserver_requests_by_verb_total": by_verb_after,
        "apiserver_requests_per_enrollment": per_item(requests, count),
        "apiserver_request_total_delta_whole_cluster": cluster_requests,
        "reconciles_per_enrollment": per_item(
            metrics_after["full"] - metrics_before["full"], count
        ),
        "refreshes_per_enrollment": per_item(
            metrics_after["refresh"] - metrics_before["refresh"], count
        ),
        "events_per_enrollment": per_item(
            metrics_after["events"] - metrics_before["events"], count
        ),
        "rss_before_burst_mib": round(rss_before, 1),
        **floor_result,
        "burst_to_floor_ratio": ratio(seconds, floor_result["floor_burst_seconds"]),
        "load_average": load_average(),
    }


def burst_floor(stack: Stack, count: int) -> dict[str, Any]:
    kube = floor_kube(stack)
    spec = track_spec(stack, stack.burst_track)
    batches = [
        floor.floor_objects(f"bf{stack.run}-{i}", "fsd", spec, stack.run) for i in range(count)
    ]
    keys = {
        f"{o['metadata']['namespace']}/{o['metadata']['name']}"
        for batch in batches
        for o in batch
        if o["kind"] == "Deployment"
    }
    available = deployment_tracker(stack)
    proxy = stack.proxies["floor"]
    before = proxy.total()
    started = time.monotonic()
    asyncio.run(floor.apply_many(kube, batches))
    all_available = available.wait(keys, max(600.0, count * 3.0))
    seconds = time.monotonic() - started
    available.stop()
    requests = proxy.total() - before
    progress = sorted(t - started for t in available.times.values() if t >= started)
    asyncio.run(floor.delete_namespaces(kube, [b[0]["metadata"]["name"] for b in batches]))
    return {
        "floor_all_available": all_available,
        "floor_burst_seconds": round(seconds, 2),
        "floor_progress_s": [round(t, 2) for t in progress],
        "floor_requests": requests,
        "floor_requests_per_enrollment": per_item(requests, count),
        "objects_per_enrollment": len(batches[0]),
    }


def idle(stack: Stack, seconds: float, enrollments: int, rss_before_burst: float) -> dict[str, Any]:
    """The operator at rest: full reconciles and requests per minute, and its memory."""
    assert stack.operator is not None and stack.operator.process is not None
    pid = stack.operator.process.pid
    proxy = stack.proxies["operator"]
    before = reconcile_counts(operator_metrics(stack))
    requests_before = proxy.total(include_watches=False)
    started = time.monotonic()
    with RssSampler(pid, started) as sampler:
        time.sleep(seconds)
    after = reconcile_counts(operator_metrics(stack))
    minutes = seconds / 60
    rss_rest = sampler.samples[-1][1]
    return {
        "idle_seconds": seconds,
        "idle_reconciles_per_min": round((after["full"] - before["full"]) / minutes, 2),
        "idle_refreshes_per_min": round((after["refresh"] - before["refresh"]) / minutes, 2),
        "idle_requests_per_min": round(
            (proxy.total(include_watches=False) - requests_before) / minutes, 2
        ),
        "operator_rss_at_rest_mib": round(rss_rest, 1),
        "operator_rss_per_enrollment_kib": round(
            (rss_rest - rss_before_burst) * 1024 / max(enrollments, 1), 1
        ),
        "rss_samples": [(round(t, 1), round(m, 1)) for t, m in sampler.samples],
        "load_average": load_average(),
    }


def _student_roles_and_schemas(stack: Stack, usernames: set[str]) -> tuple[int, int]:
    from apranova_contract import names

    assert stack.postgres is not None
    wanted = sorted(names.role_name(u) for u in usernames)
    with psycopg2.connect(stack.postgres.libpq_dsn) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_roles WHERE rolname = ANY(%s)", (wanted,))
        roles = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname = ANY(%s)", (wanted,))
        schemas = cursor.fetchone()[0]
    return roles, schemas


def release_finalizers(stack: Stack) -> None:
    """Let go of the run's enrollments the operator could not finish deleting in time: once the
    run's operator stops, nothing would ever remove its finalizer."""
    objects = stack.objects()
    for item in objects.list_cluster_custom_object(
        GROUP, VERSION, PLURAL, label_selector=stack.selector
    )["items"]:
        patch = {"metadata": {"finalizers": None}}
        objects.patch_cluster_custom_object(GROUP, VERSION, PLURAL, item["metadata"]["name"], patch)


def delete(stack: Stack) -> dict[str, Any]:
    """Every enrollment of the run deleted at once → all gone; what is left behind."""
    objects = stack.objects()
    core = client.CoreV1Api(stack.api_client)
    items = objects.list_cluster_custom_object(
        GROUP, VERSION, PLURAL, label_selector=stack.selector
    )["items"]
    names = [item["metadata"]["name"] for item in items]
    usernames = {item["spec"]["student"]["username"] for item in items}
    namespaces = {(item.get("status") or {}).get("namespace") for item in items} - {None}
    before = reconcile_counts(operator_metrics(stack))
    proxy = stack.proxies["operator"]
    requests_before = proxy.total()
    started = time.monotonic()
    for name in names:
        objects.delete_cluster_custom_object(GROUP, VERSION, PLURAL, name)
    deadline = started + max(600.0, len(names) * 3.0)
    remaining = names
    while remaining and time.monotonic() < deadline:
        time.sleep(1)
        remaining = [
            item["metadata"]["name"]
            for item in objects.list_cluster_custom_object(
                GROUP, VERSION, PLURAL, label_selector=stack.selector
            )["items"]
        ]
    seconds = time.monotonic() - started
    wait_settled(proxy.total, quiet=3.0, limit=30.0)
    after = reconcile_counts(operator_metrics(stack))
    left_namespaces = [
        ns.metadata.name for ns in core.list_namespace().items if ns.metadata.name in namespaces
    ]
    roles, schemas = _student_roles_and_schemas(stack, usernames)
    count = len(names)
    return {
        "delete_n": count,
        "delete_seconds": round(seconds, 2),
        "enrollments_left": len(remaining),
        "orphans": len(left_namespaces) + roles + schemas + len(remaining),
        "orphan_namespaces": left_namespaces,
        "orphan_roles": roles,
        "orphan_schemas": schemas,
        "finalizer_runs_per_deletion": per_item(after["finalizer"] - before["finalizer"], count),
        "delete_requests_per_enrollment": per_item(proxy.total() - requests_before, count),
        "load_average": load_average(),
    }


# ------------------------------------------------------------------ API


async def _hammer(
    requests: list[Callable[[httpx.AsyncClient], Any]],
    concurrency: int,
    base_url: str,
    duration: float | None = None,
) -> tuple[list[float], list[int], float]:
    """Run ``requests`` (each a coroutine factory) with ``concurrency`` workers; latencies in
    seconds, status codes and elapsed seconds. With ``duration``, cycle until it is over."""
    latencies: list[float] = []
    statuses: list[int] = []
    position = 0

    async def worker(http: httpx.AsyncClient, stop_at: float | None) -> None:
        nonlocal position
        while True:
            if stop_at is None:
                if position >= len(requests):
                    return
                item = requests[position]
            else:
                if time.monotonic() >= stop_at:
                    return
                item = requests[position % len(requests)]
            position += 1
            started = time.perf_counter()
            response = await item(http)
            latencies.append(time.perf_counter() - started)
            statuses.append(response.status_code)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as http:
        started = time.monotonic()
        stop_at = started + duration if duration else None
        await asyncio.gather(*(worker(http, stop_at) for _ in range(concurrency)))
        return latencies, statuses, time.monotonic() - started


def _with_httpx(target: vegeta.Target, url: str) -> Callable[[httpx.AsyncClient], Any]:
    """``target`` as a request of the in-process httpx generator (base URL ``url``)."""
    path = target.url.removeprefix(url)
    return lambda http: http.request(
        target.method, path, content=target.body or None, headers=dict(target.headers)
    )


def _generate(
    generator: str,
    targets: list[vegeta.Target],
    url: str,
    concurrency: int,
    duration: float | None = None,
) -> vegeta.Outcome:
    """Send ``targets`` with the load generator named ``generator``: ``vegeta`` (its own process)
    or ``httpx`` (asyncio in this process, next to the proxies and stand-ins)."""
    if generator == "vegeta":
        return vegeta.attack(targets, concurrency, duration)
    calls = [_with_httpx(t, url) for t in targets]
    latencies, statuses, elapsed = asyncio.run(_hammer(calls, concurrency, url, duration))
    return vegeta.Outcome(latencies, statuses, elapsed)


GENERATORS = ("httpx", "vegeta")
"""The old in-process generator and the external one, measured side by side in each run; the
summary's figures are vegeta's."""


def _fulfilled(stack: Stack, sessions: list[str]) -> int:
    engine = make_engine(stack.load_database_url)
    with Session(engine) as db:
        count = db.scalar(
            select(func.count(distinct(Payment.checkout_session_id))).where(
                Payment.checkout_session_id.in_(sessions)
            )
        )
    engine.dispose()
    return int(count or 0)


def _login_tokens(stack: Stack, count: int) -> list[str]:
    engine = make_engine(stack.load_database_url)
    with Session(engine) as db:
        users = list(db.scalars(select(User).where(User.email.like(f"load-{stack.run}-%"))))
        tokens = [
            create_session(db, user_id=u.id, ttl=timedelta(hours=1), now=datetime.now(UTC))
            for u in users[:count]
        ]
        db.commit()
    engine.dispose()
    return tokens


def _statuses(statuses: list[int]) -> dict[str, int]:
    return {str(s): statuses.count(s) for s in sorted(set(statuses))}


def api(
    stack: Stack, webhooks: int, poll_seconds: float, profiles: Path | None = None
) -> dict[str, Any]:
    """Webhooks per second (concurrency 8) and polls per second (concurrency 16), each measured
    with both :data:`GENERATORS` one after the other (``webhooks`` distinct purchases each), on
    the API and, when the stack runs one, on the baseline API (A-B, then B-A).

    With ``profiles`` (a folder), each API process's GIL holder is sampled by py-spy during
    vegeta's runs: ``api-<which>-webhooks.raw``, ``api-<which>-polls-<endpoint>.raw`` (collapsed
    stacks of where its CPU goes).
    """
    assert stack.api_load is not None
    apis = {"current": stack.api_load}
    if stack.api_baseline is not None:
        apis["baseline"] = stack.api_baseline
    # A-B then B-A for each generator, so a drift in the machine's load favours neither API.
    runs = [
        (which, generator)
        for turn, generator in enumerate(GENERATORS)
        for which in (list(apis) if turn % 2 == 0 else list(apis)[::-1])
    ]
    with ThreadPoolExecutor(8) as pool:
        sessions = list(
            pool.map(
                lambda i: _paid_session(
                    stack,
                    stack.api_load.url,  # type: ignore[union-attr]
                    "FSD" if i % 2 else "DP",
                    f"load-{stack.run}-{i}@example.com",
                ),
                range(webhooks * len(runs)),
            )
        )
    measured: dict[str, dict[str, Any]] = {which: {} for which in apis}

    def spied(which: str, name: str, generator: str) -> AbstractContextManager[None]:
        process = apis[which].process
        assert process is not None
        wanted = profiles is not None and generator == "vegeta"
        out = profiles / f"api-{which}-{name}.raw" if profiles and wanted else None
        return profiled(process.pid, out, gil=True)

    def pid(which: str) -> int:
        process = apis[which].process
        assert process is not None
        return process.pid

    for index, (which, generator) in enumerate(runs):
        url = apis[which].url
        batch = sessions[index * webhooks : (index + 1) * webhooks]
        targets = [_webhook_target(stack, url, s) for s in batch]
        cpu_before = cpu_seconds(pid(which))
        with spied(which, "webhooks", generator):
            outcome = _generate(generator, targets, url, 8)
        cpu = cpu_seconds(pid(which)) - cpu_before
        fulfilled = _fulfilled(stack, batch)
        measured[which][generator] = {
            "webhooks_sent": webhooks,
            "webhooks_fulfilled": fulfilled,
            "webhook_statuses": _statuses(outcome.statuses),
            "webhooks_per_s": round(fulfilled / outcome.elapsed, 2) if outcome.elapsed else None,
            "webhook_p50_ms": rounded(_ms(percentile(outcome.latencies, 50)), 1),
            "webhook_p99_ms": rounded(_ms(percentile(outcome.latencies, 99)), 1),
            "webhook_api_cpu_ms": per_item(cpu * 1000, len(outcome.latencies)),
            "webhook_latencies_ms": [round(x * 1000, 2) for x in outcome.latencies],
            "load_average": load_average(),
        }
    tokens = _login_tokens(stack, 50)
    proxy = stack.proxies["api_load"]
    for name in ("verify_checkout_session", "tools"):
        for which, generator in runs:
            url = apis[which].url
            if name == "tools":
                auth = [{"Authorization": f"Bearer {t}"} for t in tokens]
                targets = [vegeta.Target("GET", f"{url}/api/accounts/tools/", h) for h in auth]
            else:
                path = "/api/payments/verify-checkout-session/?session_id="
                targets = [vegeta.Target("GET", f"{url}{path}{s}") for s in sessions[:50]]
            before = proxy.total(include_watches=False)
            cpu_before = cpu_seconds(pid(which))
            with spied(which, f"polls-{name}", generator):
                outcome = _generate(generator, targets, url, 16, poll_seconds)
            cpu = cpu_seconds(pid(which)) - cpu_before
            measured[which][generator].setdefault("polls", {})[name] = {
                "polls_per_s": round(len(outcome.latencies) / outcome.elapsed, 1),
                "poll_p50_ms": rounded(_ms(percentile(outcome.latencies, 50)), 2),
                "poll_p99_ms": rounded(_ms(percentile(outcome.latencies, 99)), 2),
                "poll_apiserver_requests": proxy.total(include_watches=False) - before,
                "poll_api_cpu_ms": per_item(cpu * 1000, len(outcome.latencies)),
                "statuses": _statuses(outcome.statuses),
                "latencies_ms": [round(x * 1000, 2) for x in outcome.latencies],
                "load_average": load_average(),
            }
    objects = stack.objects()
    for item in objects.list_cluster_custom_object(
        GROUP, VERSION, PLURAL, label_selector=stack.load_selector
    )["items"]:
        objects.delete_cluster_custom_object(GROUP, VERSION, PLURAL, item["metadata"]["name"])
    return {
        **measured["current"]["vegeta"],
        "generator": "vegeta",
        "by_generator": measured["current"],
        **({"baseline": measured["baseline"]} if "baseline" in measured else {}),
        "load_average": load_average(),
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000

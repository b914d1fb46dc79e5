"""Two or more operator versions side by side, in one run on the same cluster and load.

Each *side* is an operator run by an interpreter of its own (another checkout's virtualenv, to
compare before and after a change) with extra environment variables of its own, behind its own
counting proxy, serving its own enrollments of one copy of the FSD track (small resource
requests, as the burst of ``bench.run``). The sides' enrollments are created interleaved and at
once, so both see the same cluster; then all are deleted at once. Prints and writes, per side:
API-server requests per enrollment (by verb and resource), reconciles, refreshes and Events per
enrollment, resident memory before, at the peak and at rest (and per enrollment at rest, as
``bench.run`` computes it), finalizer runs and requests per deletion.

    .venv/bin/python -m bench.operator_compare --count 50 \\
        --side before=/work/main/.venv/bin/python --side after \\
        --side after-arena2=:MALLOC_ARENA_MAX=2
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from kubernetes import client, config

from apranova.local import cluster
from apranova_contract.labels import ENROLLMENT_PLURAL, GROUP, TRACK_PLURAL, VERSION
from bench.phases import reconcile_counts, rss_mib
from bench.stack import apply_crds_and_tracks
from bench.stats import load_average, per_item
from tests.support.apiserver_proxy import CountingProxy
from tests.support.operator_process import (
    OperatorProcess,
    delete_enrollments,
    enrollment_body,
    wait_for,
)

RUN_LABEL = "apranova.io/test-run"
OUT = Path(__file__).resolve().parent / "results" / "operator_compare.json"


@dataclass
class Side:
    """One operator version: its name, interpreter and extra environment."""

    name: str
    python: str
    env: dict[str, str]
    run: str
    proxy: CountingProxy | None = None
    operator: OperatorProcess | None = None
    rss: list[float] = field(default_factory=list)

    @property
    def selector(self) -> str:
        return f"{RUN_LABEL}={self.run}"

    def metrics(self) -> dict[str, float]:
        assert self.operator is not None
        return reconcile_counts(self.operator.metrics())

    def requests(self) -> dict[str, int]:
        assert self.proxy is not None
        found = self.proxy.snapshot_by_resource()
        return {f"{verb} {res}": n for (verb, res), n in found.items() if verb != "WATCH"}


def parse_side(text: str, run: str) -> Side:
    """``name[=python][:KEY=VALUE[:KEY=VALUE...]]`` (python defaults to this interpreter)."""
    head, *pairs = text.split(":")
    name, _, python = head.partition("=")
    env = dict(pair.split("=", 1) for pair in pairs)
    return Side(name, python or sys.executable, env, f"{run}{name.replace('-', '')[:8]}")


def _delta(after: dict[str, int], before: dict[str, int], count: int) -> dict[str, float]:
    keys = sorted(set(after) | set(before))
    found = {key: per_item(after.get(key, 0) - before.get(key, 0), count) for key in keys}
    return {key: value for key, value in found.items() if value}


def _phases(objects: client.CustomObjectsApi, side: Side) -> dict[str, str]:
    found: Any = objects.list_cluster_custom_object(
        GROUP, VERSION, ENROLLMENT_PLURAL, label_selector=side.selector
    )
    items = found["items"]
    return {i["metadata"]["name"]: (i.get("status") or {}).get("phase", "") for i in items}


def _gone(objects: client.CustomObjectsApi, side: Side) -> bool:
    return not _phases(objects, side)


def _sample(sides: list[Side], stop: threading.Event) -> None:
    while not stop.wait(1.0):
        for side in sides:
            assert side.operator is not None and side.operator.process is not None
            side.rss.append(rss_mib(side.operator.process.pid))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50, help="enrollments per side")
    parser.add_argument("--side", action="append", required=True, help="see the module doc")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds at rest after Ready")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    run = "k" + secrets.token_hex(3)
    sides = [parse_side(text, run) for text in args.side]
    layout = cluster.Layout.from_env()
    kubeconfig = str(cluster.up(layout, quiet=True))
    apply_crds_and_tracks(kubeconfig)
    api = config.new_client_from_config(config_file=kubeconfig)
    objects = client.CustomObjectsApi(api)
    track = f"cmp{run}"
    fsd: Any = objects.get_cluster_custom_object(GROUP, VERSION, TRACK_PLURAL, "fsd")
    copy = {key: fsd[key] for key in ("apiVersion", "kind", "spec")}
    copy["metadata"] = {"name": track}
    for tool in copy["spec"]["tools"]:
        tool["resources"] = {
            "requests": {"cpu": "5m", "memory": "16Mi"},
            "limits": {"cpu": "100m", "memory": "128Mi"},
        }
    objects.create_cluster_custom_object(GROUP, VERSION, TRACK_PLURAL, copy)
    output = args.out.parent / "compare-run"
    results: dict[str, Any] = {"count": args.count, "load_average": {"start": load_average()}}
    stop = threading.Event()
    try:
        for side in sides:
            side.proxy = CountingProxy(Path(kubeconfig), f"cmp-{side.name}").start()
            env = {"ENROLLMENT_SELECTOR": side.selector, "LOG_LEVEL": "WARNING", **side.env}
            side.operator = OperatorProcess(
                str(side.proxy.kubeconfig(output)),
                env,
                output / f"operator-{side.name}-{run}.log",
                python=side.python,
            ).start()
        time.sleep(10)
        start = {s.name: rss_mib(s.operator.process.pid) for s in sides}  # type: ignore[union-attr]
        before = {s.name: (s.requests(), s.metrics()) for s in sides}
        sampler = threading.Thread(target=_sample, args=(sides, stop), daemon=True)
        sampler.start()
        names = {s.name: [f"{s.run}-{i}" for i in range(args.count)] for s in sides}
        jobs = [
            (side, name)
            for i in range(args.count)
            for side in sides
            for name in [names[side.name][i]]
        ]
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(
                    lambda job: objects.create_cluster_custom_object(
                        GROUP,
                        VERSION,
                        ENROLLMENT_PLURAL,
                        enrollment_body(job[1], track, {RUN_LABEL: job[0].run}),
                    ),
                    jobs,
                )
            )
        ready_at: dict[str, float] = {}
        deadline = started + max(600.0, 6.0 * args.count)
        while len(ready_at) < len(sides) and time.monotonic() < deadline:
            for side in sides:
                phases = _phases(objects, side)
                if side.name not in ready_at and list(phases.values()).count("Ready") == args.count:
                    ready_at[side.name] = time.monotonic() - started
            time.sleep(2)
        time.sleep(10)  # late status refreshes and Events
        results["load_average"]["burst"] = load_average()
        after = {s.name: (s.requests(), s.metrics()) for s in sides}
        time.sleep(args.idle)
        results["load_average"]["rest"] = load_average()
        for side in sides:
            assert side.operator is not None and side.operator.process is not None
            rest = rss_mib(side.operator.process.pid)
            requests = _delta(after[side.name][0], before[side.name][0], args.count)
            counts = {
                k: after[side.name][1][k] - before[side.name][1][k] for k in after[side.name][1]
            }
            results[side.name] = {
                "python": side.python,
                "env": side.env,
                "all_ready_s": round(ready_at.get(side.name, -1.0), 1),
                "apiserver_requests_per_enrollment": round(sum(requests.values()), 2),
                "requests_per_enrollment": requests,
                "reconciles_per_enrollment": per_item(counts["full"], args.count),
                "refreshes_per_enrollment": per_item(counts["refresh"], args.count),
                "events_per_enrollment": per_item(counts["events"], args.count),
                "rss_start_mib": round(start[side.name], 1),
                "rss_peak_mib": round(max(side.rss or [rest]), 1),
                "rss_rest_mib": round(rest, 1),
                "rss_per_enrollment_kib": round((rest - start[side.name]) * 1024 / args.count, 1),
            }
        stop.set()
        deleting = {s.name: (s.proxy.total(), s.metrics()) for s in sides}  # type: ignore[union-attr]
        for job in jobs:
            objects.delete_cluster_custom_object(GROUP, VERSION, ENROLLMENT_PLURAL, job[1])
        started = time.monotonic()
        for side in sides:
            wait_for(partial(_gone, objects, side), 900, f"{side.name} deleted", 2)
            seconds = time.monotonic() - started
            time.sleep(3)
            total, metrics = deleting[side.name]
            results[side.name]["delete_seconds"] = round(seconds, 1)
            results[side.name]["finalizer_runs_per_deletion"] = per_item(
                side.metrics()["finalizer"] - metrics["finalizer"], args.count
            )
            results[side.name]["requests_per_deletion"] = per_item(
                side.proxy.total() - total,  # type: ignore[union-attr]
                args.count,
            )
        results["load_average"]["delete"] = load_average()
    finally:
        stop.set()
        for side in sides:
            if side.operator is not None:
                delete_enrollments(api, side.selector, timeout=900)
                side.operator.stop()
            if side.proxy is not None:
                side.proxy.stop()
        objects.delete_cluster_custom_object(GROUP, VERSION, TRACK_PLURAL, track)
    print(json.dumps(results, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``make bench`` / ``make bench-quick``: every phase in one run, then the summary and plots.

    .venv/bin/python -m bench.run --quick     # small sizes, under 5 minutes
    .venv/bin/python -m bench.run             # full sizes, up to 30 minutes

Writes ``bench/results/<phase>.json``, ``bench/results/summary.json`` (the keys of issue 15's
table) and PNG plots; prints the summary. Starts what it needs (see :mod:`bench.stack`) and
stops it again; the shared control plane keeps running.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import phases
from bench.plots import write_plots
from bench.stack import Stack
from bench.stats import load_average
from tests.support.operator_process import delete_enrollments

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = {
    "quick": {"per_track": 2, "burst": 10, "idle": 60.0, "webhooks": 60, "poll_seconds": 5.0},
    "full": {"per_track": 10, "burst": 300, "idle": 600.0, "webhooks": 400, "poll_seconds": 20.0},
}


PHASES = ("latency", "burst", "idle", "api", "delete")
"""Every phase, in the order a run measures them; ``idle`` needs ``burst`` before it."""


def summary(results: dict[str, Any], mode: str, seconds: float) -> dict[str, Any]:
    """The flat summary of issue 15's table from the phases' results (pure); with only some
    phases run (``--phase``), the keys of those phases."""
    keys: dict[str, Any] = {"mode": mode, "phases": [p for p in PHASES if p in results]}
    for phase in PHASES:
        if phase in results:
            keys.update(SUMMARIES[phase](results[phase]))
    return {
        **keys,
        "load_average": {phase: results[phase]["load_average"] for phase in results},
        "total_seconds": round(seconds, 1),
    }


def _latency_keys(latency: dict[str, Any]) -> dict[str, Any]:
    tracks = ("fsd", "dp")
    return {
        "ready_p50_s": {t: latency[t]["ready_p50_s"] for t in tracks},
        "ready_p95_s": {t: latency[t]["ready_p95_s"] for t in tracks},
        "floor_p50_s": {t: latency[t]["floor_p50_s"] for t in tracks},
        "ready_to_floor_ratio": {t: latency[t]["ready_to_floor_ratio"] for t in tracks},
        "latency_samples_per_track": latency["per_track"],
    }


def _burst_keys(burst: dict[str, Any]) -> dict[str, Any]:
    return {
        "burst_n": burst["burst_n"],
        "burst_seconds": burst["burst_seconds"],
        "burst_per_s": burst["burst_per_s"],
        "floor_burst_seconds": burst["floor_burst_seconds"],
        "burst_to_floor_ratio": burst["burst_to_floor_ratio"],
        "operator_peak_rss_mib": burst["operator_peak_rss_mib"],
        "apiserver_requests_per_enrollment": burst["apiserver_requests_per_enrollment"],
        "floor_requests_per_enrollment": burst["floor_requests_per_enrollment"],
        "objects_per_enrollment": burst["objects_per_enrollment"],
        "reconciles_per_enrollment": burst["reconciles_per_enrollment"],
        "events_per_enrollment": burst["events_per_enrollment"],
    }


def _idle_keys(idle: dict[str, Any]) -> dict[str, Any]:
    return {
        "operator_rss_at_rest_mib": idle["operator_rss_at_rest_mib"],
        "operator_rss_per_enrollment_kib": idle["operator_rss_per_enrollment_kib"],
        "idle_reconciles_per_min": idle["idle_reconciles_per_min"],
        "idle_seconds": idle["idle_seconds"],
    }


def _api_keys(api: dict[str, Any]) -> dict[str, Any]:
    return {
        "webhooks_per_s": api["webhooks_per_s"],
        "polls_per_s": {k: v["polls_per_s"] for k, v in api["polls"].items()},
        "poll_p50_ms": {k: v["poll_p50_ms"] for k, v in api["polls"].items()},
        "poll_p99_ms": {k: v["poll_p99_ms"] for k, v in api["polls"].items()},
        "poll_apiserver_requests": {
            k: v["poll_apiserver_requests"] for k, v in api["polls"].items()
        },
    }


def _delete_keys(delete: dict[str, Any]) -> dict[str, Any]:
    return {
        "finalizer_runs_per_deletion": delete["finalizer_runs_per_deletion"],
        "delete_n": delete["delete_n"],
        "delete_seconds": delete["delete_seconds"],
        "orphans": delete["orphans"],
    }


SUMMARIES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "latency": _latency_keys,
    "burst": _burst_keys,
    "idle": _idle_keys,
    "api": _api_keys,
    "delete": _delete_keys,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (under 5 minutes)")
    parser.add_argument("--burst", type=int, help="override the burst size")
    parser.add_argument("--idle", type=float, help="override the seconds at rest")
    parser.add_argument("--per-track", type=int, help="override the sequential purchases")
    parser.add_argument("--webhooks", type=int, help="override the webhooks per measurement")
    parser.add_argument("--poll-seconds", type=float, help="override the seconds per poll run")
    parser.add_argument(
        "--baseline-pythonpath",
        default="",
        help="also measure an API run from these sources (PYTHONPATH) in the api phase",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy the operator during the burst and the API during the api phase",
    )
    parser.add_argument(
        "--phase",
        action="append",
        choices=PHASES,
        help="run only this phase (repeatable; idle needs burst); default: every phase",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    selected = set(args.phase or PHASES)
    if "idle" in selected and "burst" not in selected:
        parser.error("--phase idle needs --phase burst (it measures the burst's enrollments)")
    mode = "quick" if args.quick else "full"
    sizes = dict(SIZES[mode])
    for key in ("burst", "idle", "per_track", "webhooks", "poll_seconds"):
        if getattr(args, key) is not None:
            sizes[key] = getattr(args, key)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    stack = Stack(args.out / "run", baseline_pythonpath=args.baseline_pythonpath)
    results: dict[str, Any] = {}

    def record(name: str, value: dict[str, Any]) -> None:
        results[name] = value
        (args.out / f"{name}.json").write_text(json.dumps(value, indent=2) + "\n")
        print(f"== {name} done at {time.monotonic() - started:.0f} s", flush=True)

    try:
        print(f"bench {mode} (run {stack.run}), load {load_average()}", flush=True)
        stack.open()
        if selected - {"api"}:
            stack.start_operator()
        stack.start_apis()
        if "latency" in selected:
            record("latency", phases.latency(stack, sizes["per_track"]))
        if "burst" in selected:
            profile = args.out / "operator-burst-profile.txt" if args.profile else None
            record("burst", phases.burst(stack, sizes["burst"], profile))
        if "idle" in selected:
            enrollments = sizes["burst"] + (2 * sizes["per_track"] if "latency" in selected else 0)
            before = results["burst"]["rss_before_burst_mib"]
            record("idle", phases.idle(stack, sizes["idle"], enrollments, before))
        if "api" in selected:
            profiles = args.out if args.profile else None
            record("api", phases.api(stack, sizes["webhooks"], sizes["poll_seconds"], profiles))
        if "delete" in selected:
            record("delete", phases.delete(stack))
    finally:
        if stack.operator is not None and stack.api_client is not None:
            try:
                delete_enrollments(stack.api_client, stack.selector, timeout=900)
            except TimeoutError:
                phases.release_finalizers(stack)
        stack.close()
    result = summary(results, mode, time.monotonic() - started)
    (args.out / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
    for path in write_plots(results, args.out):
        print(f"plot: {path}")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

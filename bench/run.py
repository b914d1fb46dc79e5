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


def summary(results: dict[str, Any], mode: str, seconds: float) -> dict[str, Any]:
    """The flat summary of issue 15's table from the phases' results (pure)."""
    latency, burst, idle = results["latency"], results["burst"], results["idle"]
    delete, api = results["delete"], results["api"]
    tracks = ("fsd", "dp")
    return {
        "mode": mode,
        "ready_p50_s": {t: latency[t]["ready_p50_s"] for t in tracks},
        "ready_p95_s": {t: latency[t]["ready_p95_s"] for t in tracks},
        "floor_p50_s": {t: latency[t]["floor_p50_s"] for t in tracks},
        "ready_to_floor_ratio": {t: latency[t]["ready_to_floor_ratio"] for t in tracks},
        "latency_samples_per_track": latency["per_track"],
        "burst_n": burst["burst_n"],
        "burst_seconds": burst["burst_seconds"],
        "burst_per_s": burst["burst_per_s"],
        "floor_burst_seconds": burst["floor_burst_seconds"],
        "burst_to_floor_ratio": burst["burst_to_floor_ratio"],
        "operator_peak_rss_mib": burst["operator_peak_rss_mib"],
        "operator_rss_at_rest_mib": idle["operator_rss_at_rest_mib"],
        "operator_rss_per_enrollment_kib": idle["operator_rss_per_enrollment_kib"],
        "apiserver_requests_per_enrollment": burst["apiserver_requests_per_enrollment"],
        "floor_requests_per_enrollment": burst["floor_requests_per_enrollment"],
        "objects_per_enrollment": burst["objects_per_enrollment"],
        "reconciles_per_enrollment": burst["reconciles_per_enrollment"],
        "events_per_enrollment": burst["events_per_enrollment"],
        "finalizer_runs_per_deletion": delete["finalizer_runs_per_deletion"],
        "idle_reconciles_per_min": idle["idle_reconciles_per_min"],
        "idle_seconds": idle["idle_seconds"],
        "webhooks_per_s": api["webhooks_per_s"],
        "polls_per_s": {k: v["polls_per_s"] for k, v in api["polls"].items()},
        "poll_p50_ms": {k: v["poll_p50_ms"] for k, v in api["polls"].items()},
        "poll_p99_ms": {k: v["poll_p99_ms"] for k, v in api["polls"].items()},
        "poll_apiserver_requests": {
            k: v["poll_apiserver_requests"] for k, v in api["polls"].items()
        },
        "delete_n": delete["delete_n"],
        "delete_seconds": delete["delete_seconds"],
        "orphans": delete["orphans"],
        "load_average": {phase: results[phase]["load_average"] for phase in results},
        "total_seconds": round(seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (under 5 minutes)")
    parser.add_argument("--burst", type=int, help="override the burst size")
    parser.add_argument("--idle", type=float, help="override the seconds at rest")
    parser.add_argument("--per-track", type=int, help="override the sequential purchases")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the operator during the burst"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    sizes = dict(SIZES[mode])
    for key in ("burst", "idle", "per_track"):
        if getattr(args, key) is not None:
            sizes[key] = getattr(args, key)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    stack = Stack(args.out / "run")
    results: dict[str, Any] = {}

    def record(name: str, value: dict[str, Any]) -> None:
        results[name] = value
        (args.out / f"{name}.json").write_text(json.dumps(value, indent=2) + "\n")
        print(f"== {name} done at {time.monotonic() - started:.0f} s", flush=True)

    try:
        print(f"bench {mode} (run {stack.run}), load {load_average()}", flush=True)
        stack.open()
        stack.start_operator()
        stack.start_apis()
        record("latency", phases.latency(stack, sizes["per_track"]))
        profile = args.out / "operator-burst-profile.txt" if args.profile else None
        record("burst", phases.burst(stack, sizes["burst"], profile))
        record(
            "idle",
            phases.idle(
                stack,
                sizes["idle"],
                sizes["burst"] + 2 * sizes["per_track"],
                results["burst"]["rss_before_burst_mib"],
            ),
        )
        record("api", phases.api(stack, sizes["webhooks"], sizes["poll_seconds"]))
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

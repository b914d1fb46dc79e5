"""The operator's memory with many enrollments, against the local control plane.

Creates a one-tool bench Track and N enrollments (default 1000) labelled with a unique run id,
runs one operator restricted to them, waits until every enrollment is Ready (or the time limit
passes), and prints the operator's resident memory at start, when all are Ready and after an
idle minute; writes the figures as JSON. Deletes everything it created at the end.

    .venv/bin/python bench/operator_memory.py --count 1000 --out bench/operator_memory.json
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from apranova_contract.labels import (  # noqa: E402
    ENROLLMENT_PLURAL,
    GROUP,
    TRACK_PLURAL,
    VERSION,
)
from tests.support.operator_process import create_enrollments, start_operator  # noqa: E402


def rss_mib(pid: int) -> float:
    """Resident set size of a process, in MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def bench_track(name: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Track",
        "metadata": {"name": name},
        "spec": {
            "displayName": "Bench",
            "price": {"amount": 100, "currency": "usd"},
            "quota": {"cpu": "2", "memory": "4Gi", "storage": "10Gi", "pods": "5"},
            "tools": [
                {"name": "code", "kind": "codeserver", "image": "codercom/code-server:4.139.1"}
            ],
        },
    }


def count_ready(objects: client.CustomObjectsApi, selector: str) -> int:
    items = objects.list_cluster_custom_object(
        GROUP, VERSION, ENROLLMENT_PLURAL, label_selector=selector
    )["items"]
    return sum(1 for item in items if (item.get("status") or {}).get("phase") == "Ready")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for Ready")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "operator_memory.json")
    args = parser.parse_args()

    kubeconfig = os.environ.get("KUBECONFIG") or str(ROOT / ".local" / "kubeconfig")
    api = config.new_client_from_config(config_file=kubeconfig)
    objects = client.CustomObjectsApi(api)
    run = secrets.token_hex(4)
    selector = f"apranova.io/test-run={run}"
    track = f"bench{run}"
    names = [f"b{run}-{i}" for i in range(args.count)]
    objects.create_cluster_custom_object(GROUP, VERSION, TRACK_PLURAL, bench_track(track))
    operator = start_operator(
        kubeconfig,
        {"ENROLLMENT_SELECTOR": selector, "LOG_LEVEL": "WARNING"},
        ROOT / "test-output" / f"bench-operator-{run}.log",
    )
    assert operator.process is not None
    pid = operator.process.pid
    figures: dict[str, Any] = {"count": args.count, "rss_mib_start": rss_mib(pid)}
    started = time.monotonic()
    try:
        create_enrollments(objects, names, track, {"apranova.io/test-run": run})
        figures["seconds_to_create"] = round(time.monotonic() - started, 1)
        ready = 0
        peak = figures["rss_mib_start"]
        while time.monotonic() - started < args.timeout:
            ready = count_ready(objects, selector)
            peak = max(peak, rss_mib(pid))
            print(f"{ready}/{args.count} ready, rss {rss_mib(pid):.1f} MiB", flush=True)
            if ready == args.count:
                break
            time.sleep(10)
        figures.update(
            ready=ready,
            seconds_to_all_ready=round(time.monotonic() - started, 1),
            rss_mib_all_ready=rss_mib(pid),
            rss_mib_peak=peak,
        )
        time.sleep(60)
        figures["rss_mib_after_idle_minute"] = rss_mib(pid)
    finally:
        for name in names:
            try:
                objects.delete_cluster_custom_object(GROUP, VERSION, ENROLLMENT_PLURAL, name)
            except ApiException as error:
                if error.status != 404:
                    raise
        deadline = time.monotonic() + 900
        while (
            time.monotonic() < deadline
            and objects.list_cluster_custom_object(
                GROUP, VERSION, ENROLLMENT_PLURAL, label_selector=selector
            )["items"]
        ):
            time.sleep(10)
        operator.stop()
        objects.delete_cluster_custom_object(GROUP, VERSION, TRACK_PLURAL, track)
    print(json.dumps(figures, indent=2))
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Time from ``apranova cluster up`` (warm cache) to ``/readyz`` ok, and the cache's size.

Stops a running local cluster first (keeping its data), then starts it again ``--runs`` times,
each time as a user would: ``apranova cluster down`` then ``apranova cluster up``.
Prints the figures and writes them to ``bench/results/cluster_startup.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from apranova.local import cluster


def cache_size_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    tools = cluster.tools_dir()
    timings = []
    command = [sys.executable, "-m", "apranova.cli", "cluster"]
    for _ in range(args.runs):
        subprocess.run([*command, "down"], check=True, capture_output=True)
        start = time.monotonic()
        subprocess.run([*command, "up"], check=True, capture_output=True)
        timings.append(time.monotonic() - start)
    versions = subprocess.run(
        [str(tools / "bin" / "kube-apiserver"), "--version"], capture_output=True, text=True
    ).stdout.strip()
    result = {
        "control_plane": versions,
        "cache_dir": str(tools),
        "cache_size_mib": round(cache_size_bytes(tools) / 2**20, 1),
        "up_to_readyz_seconds": [round(t, 2) for t in timings],
        "up_to_readyz_median_seconds": round(statistics.median(timings), 2),
    }
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "cluster_startup.json").write_text(json.dumps(result, indent=2))
    for key, value in result.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()

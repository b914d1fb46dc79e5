"""The API phase's load generator: vegeta (github.com/tsenart/vegeta), in its own process.

The benchmark's counting proxies and stand-ins share one Python interpreter; a Python load
generator in that interpreter competes with them for the GIL and, on a 2-core machine, measures
itself as much as the API. vegeta is built once by ``hack/build-vegeta.sh`` (``make vegeta``).
Each worker keeps one request in flight (``-rate=0``, ``-workers = -max-workers``), so the
concurrency is exactly that of the old generator.
"""

from __future__ import annotations

import base64
import json
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench.stack import ROOT

NO_TARGETS = "no targets to attack"
"""The error vegeta reports on the one extra hit that finds the (lazy) target list exhausted."""


class VegetaMissingError(RuntimeError):
    """vegeta is not built: run ``make vegeta`` (``bash hack/build-vegeta.sh``)."""


@dataclass(frozen=True)
class Target:
    """One HTTP request for vegeta; ``url`` is absolute."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class Outcome:
    """What an attack measured: per-request latencies (seconds) and status codes (0 for a
    transport error), and the seconds from the first request sent to the last answer."""

    latencies: list[float]
    statuses: list[int]
    elapsed: float


def target_line(target: Target) -> str:
    """``target`` in vegeta's JSON target format (one line; the body base64-encoded) (pure)."""
    line = {
        "method": target.method,
        "url": target.url,
        "header": {name: [value] for name, value in target.headers.items()},
        "body": base64.b64encode(target.body).decode(),
    }
    return json.dumps(line, separators=(",", ":"))


def outcome_of(lines: Iterable[str]) -> Outcome:
    """The :class:`Outcome` of ``vegeta encode --to json`` output (one result per line;
    ``timestamp`` RFC 3339 with nanoseconds, ``latency`` in nanoseconds) (pure)."""
    latencies: list[float] = []
    statuses: list[int] = []
    first: float | None = None
    last = 0.0
    for line in lines:
        if not line.strip():
            continue
        result = json.loads(line)
        if result.get("error") == NO_TARGETS:
            continue
        started = _seconds(result["timestamp"])
        latency = result["latency"] / 1e9
        latencies.append(latency)
        statuses.append(int(result["code"]))
        first = started if first is None else min(first, started)
        last = max(last, started + latency)
    return Outcome(latencies, statuses, last - first if first is not None else 0.0)


def _seconds(timestamp: str) -> float:
    """Seconds since the epoch of an RFC 3339 timestamp with up to nanoseconds (pure)."""
    head, _, fraction_and_zone = timestamp.partition(".")
    if not fraction_and_zone:
        return datetime.fromisoformat(timestamp).timestamp()
    digits = len(fraction_and_zone) - len(fraction_and_zone.lstrip("0123456789"))
    fraction, zone = fraction_and_zone[:digits], fraction_and_zone[digits:]
    return datetime.fromisoformat(head + zone).timestamp() + float("0." + fraction)


def binary() -> Path:
    """The cached vegeta binary (its version is the build script's)."""
    printed = subprocess.run(
        ["bash", str(ROOT / "hack" / "build-vegeta.sh"), "--print-bin"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    path = Path(printed)
    if not path.is_file():
        raise VegetaMissingError(f"{path} is missing: run `make vegeta`")
    return path


def attack(targets: Sequence[Target], concurrency: int, duration: float | None = None) -> Outcome:
    """Send ``targets`` with ``concurrency`` requests in flight: each once, in order, without
    ``duration``; round-robin for ``duration`` seconds with it.

    Raises :class:`VegetaMissingError` when vegeta is not built and
    :class:`subprocess.CalledProcessError` when it fails.
    """
    vegeta = str(binary())
    with tempfile.TemporaryDirectory(prefix="apranova-vegeta-") as folder:
        targets_file = Path(folder) / "targets.jsonl"
        targets_file.write_text("".join(target_line(t) + "\n" for t in targets))
        results_file = Path(folder) / "results.bin"
        command = [
            vegeta, "attack", "-format=json", f"-targets={targets_file}",
            f"-output={results_file}", "-rate=0", f"-workers={concurrency}",
            f"-max-workers={concurrency}", "-timeout=60s", "-max-body=0",
        ]  # fmt: skip
        if duration is None:
            command.append("-lazy")
        else:
            command.append(f"-duration={duration}s")
        subprocess.run(command, check=True, capture_output=True)
        encoded = subprocess.run(
            [vegeta, "encode", "--to=json", str(results_file)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return outcome_of(encoded.splitlines())

"""What every fault scenario shares: its scale, its count line, and a cuttable TCP link.

Each scenario ends with :func:`report`, which prints one line such as::

    FAULTS operator-sigkill scale=full faults=10 enrollments=200 lost=0 duplicated=0
        orphaned=0 5xx=0 converge_s=184.2

(on one line) and appends the same figures as one JSON object to ``faults.jsonl`` in the
test run's output folder. The suite runs at two scales: ``FAULTS_SCALE=short`` (the default,
part of ``make test``) and ``FAULTS_SCALE=full`` (``make test-faults``, the numbers of issue 16).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

SCALES = ("short", "full")
PRINTED: list[str] = []
"""Every count line of this session, repeated in pytest's terminal summary (see conftest)."""


def scale() -> str:
    """``FAULTS_SCALE``: ``short`` (default) or ``full``; anything else is a usage error."""
    value = os.environ.get("FAULTS_SCALE", "short")
    if value not in SCALES:
        raise ValueError(f"FAULTS_SCALE must be one of {', '.join(SCALES)}, not {value!r}")
    return value


def sized(short: int, full: int) -> int:
    """``short`` or ``full`` according to :func:`scale`."""
    return full if scale() == "full" else short


@dataclass
class Counts:
    """The figures of one scenario: what was injected, and what went wrong (zero is success)."""

    scenario: str
    faults: int = 0
    enrollments: int = 0
    lost: int = 0
    duplicated: int = 0
    orphaned: int = 0
    server_errors: int = 0
    converge_seconds: float = 0.0
    notes: dict[str, object] = field(default_factory=dict)

    def line(self) -> str:
        extra = "".join(f" {key}={value}" for key, value in self.notes.items())
        return (
            f"FAULTS {self.scenario} scale={scale()} faults={self.faults} "
            f"enrollments={self.enrollments} lost={self.lost} duplicated={self.duplicated} "
            f"orphaned={self.orphaned} 5xx={self.server_errors} "
            f"converge_s={self.converge_seconds:.1f}{extra}"
        )


def report(counts: Counts, output_dir: Path) -> None:
    """Print the count line (shown by pytest with ``-s`` and in the captured output) and keep
    it in ``faults.jsonl`` of the test run's output folder and of ``test-output/``."""
    print(counts.line(), flush=True)
    PRINTED.append(counts.line())
    record = json.dumps({**asdict(counts), "scale": scale(), "at": time.time()})
    for folder in {output_dir, output_dir.parent}:
        with (folder / "faults.jsonl").open("a") as sink:
            sink.write(record + "\n")


def settle(predicate: Callable[[], object], timeout: float, interval: float = 2.0) -> bool:
    """Poll ``predicate`` until truthy or ``timeout`` seconds passed; whether it became true.

    Scenarios count what did not converge instead of failing at the first timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


class Stopwatch:
    """Seconds since creation (monotonic)."""

    def __init__(self) -> None:
        self._started = time.monotonic()

    def seconds(self) -> float:
        return time.monotonic() - self._started


class CuttableLink:
    """A TCP forwarder on 127.0.0.1 to ``target``; :meth:`cut` drops every connection and
    refuses new ones (the peer looks unreachable), :meth:`mend` accepts again.

    Used to take the cluster away from one process without stopping the shared control plane.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._cut = False
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._cut:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                self._close(end)

    def _close(self, end: socket.socket) -> None:
        with self._lock:
            self._open.discard(end)
        with suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)
        end.close()

    def cut(self) -> None:
        self._cut = True
        with self._lock:
            ends = list(self._open)
        for end in ends:
            self._close(end)

    def mend(self) -> None:
        self._cut = False

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()


@contextmanager
def cuttable_link(host: str, port: int) -> Iterator[CuttableLink]:
    link = CuttableLink(host, port)
    try:
        yield link
    finally:
        link.close()

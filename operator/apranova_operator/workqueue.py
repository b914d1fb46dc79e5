"""A per-enrollment work queue: coalesces requests, bounds concurrency, retries with backoff.

Any number of triggers (the enrollment's own events, its children's events, its track's changes)
may ask for work on an enrollment; at most one run per enrollment is in flight, and requests that
arrive meanwhile collapse into one more run. Status refreshes (cheap) have their own slots, so a
burst of full reconciles never delays readiness reaching the status. A run that fails is
scheduled again after an exponentially growing delay (or the failure's own, see
:mod:`apranova_operator.outcome`); a run that asks for a revisit is scheduled after exactly the
delay it asked, with its failure count reset. Entries exist only
while work is running, pending or scheduled, so memory does not grow with the number of
enrollments handled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apranova_operator.outcome import DONE, ReconcileResult, failed

log = logging.getLogger(__name__)

Work = Callable[[str, bool], Awaitable[ReconcileResult]]
"""``work(name, full)``: a full reconcile or a status refresh."""
FailureHandler = Callable[[str, BaseException], Awaitable[None]]


def backoff_delay(failures: int, requested: float | None, base: float, maximum: float) -> float:
    """The delay before retry number ``failures`` (1 for the first)."""
    start = max(requested or 0.0, base)
    return min(maximum, start * 2 ** min(failures - 1, 16))


@dataclass
class _Entry:
    pending: bool = False
    full: bool = False
    running: bool = False
    failures: int = 0
    timer: asyncio.TimerHandle | None = None
    delay: float = 0.0


class WorkQueue:
    """Runs ``work`` per enrollment name: coalesced, bounded, retried (see the module doc)."""

    def __init__(
        self,
        work: Work,
        on_failure: FailureHandler,
        concurrency: int,
        base_delay: float,
        max_delay: float,
    ) -> None:
        self._work = work
        self._on_failure = on_failure
        self._slots = asyncio.Semaphore(concurrency)
        self._refresh_slots = asyncio.Semaphore(concurrency)
        self._base = base_delay
        self._max = max_delay
        self._entries: dict[str, _Entry] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._entries)

    def request(self, name: str, full: bool = True) -> None:
        """Ask for a run on ``name`` (``full=False``: only refresh its status)."""
        entry = self._entries.setdefault(name, _Entry())
        entry.pending = True
        entry.full = entry.full or full
        if not entry.running:
            entry.running = True
            task = asyncio.get_running_loop().create_task(self._run(name, entry))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def failures(self, name: str) -> int:
        """Consecutive failed runs of ``name`` (0 after a success or a revisit)."""
        entry = self._entries.get(name)
        return entry.failures if entry else 0

    def scheduled_delay(self, name: str) -> float | None:
        """The delay (seconds) of the run of ``name`` now scheduled, or None when none is."""
        entry = self._entries.get(name)
        return entry.delay if entry is not None and entry.timer is not None else None

    def forget(self, name: str) -> None:
        """Drop scheduled retries of an enrollment that is gone."""
        entry = self._entries.get(name)
        if entry is None:
            return
        if entry.timer is not None:
            entry.timer.cancel()
            entry.timer = None
        if not entry.running:
            del self._entries[name]

    async def _run(self, name: str, entry: _Entry) -> None:
        try:
            while entry.pending:
                full, entry.pending, entry.full = entry.full, False, False
                async with self._slots if full else self._refresh_slots:
                    result = await self._attempt(name, full)
                self._schedule(name, entry, result, full)
        finally:
            entry.running = False
            if entry.timer is None and not entry.pending:
                self._entries.pop(name, None)

    async def _attempt(self, name: str, full: bool) -> ReconcileResult:
        try:
            return await self._work(name, full)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.exception("reconcile of %s failed", name)
            try:
                await self._on_failure(name, error)
            except Exception:
                log.exception("could not report the failure of %s", name)
            return failed(type(error).__name__)

    def _schedule(self, name: str, entry: _Entry, result: ReconcileResult, full: bool) -> None:
        if result == DONE and not full:
            return
        if entry.timer is not None:
            entry.timer.cancel()
            entry.timer = None
        if not result.failed:
            entry.failures = 0
            if result.after is None:
                return
            delay = result.after
            log.debug("revisiting %s in %.1fs", name, delay)
        else:
            entry.failures += 1
            delay = (
                result.after
                if result.after is not None
                else backoff_delay(entry.failures, None, self._base, self._max)
            )
            log.debug("retrying %s (%s) in %.1fs", name, result.failure, delay)
        entry.delay = delay
        entry.timer = asyncio.get_running_loop().call_later(delay, self._fire, name, entry)

    def _fire(self, name: str, entry: _Entry) -> None:
        entry.timer = None
        self.request(name, full=True)

    async def close(self) -> None:
        for entry in self._entries.values():
            if entry.timer is not None:
                entry.timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._entries.clear()

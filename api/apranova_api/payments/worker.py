"""Payment work off the request threads: Stripe calls and cluster writes run in a small pool.

A request that needs such work (the webhook, checkout creation) waits for it at most
``REQUEST_DEADLINE_SECONDS`` and then answers 503; the work itself goes on in the pool and
finishes (every piece of it is idempotent, so Stripe's redelivery or the next poll finds it done).
Verify polls never wait: they hand a Stripe re-read to the pool, at most one per session at a time,
and answer from the database. The pool holds at most ``max_pending`` pieces of work; beyond that
new work is refused at once (:class:`WorkerBusyError`), so a hanging Stripe cannot pile up
requests or threads.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from apranova_api.metrics import PAYMENT_WORK

T = TypeVar("T")

log = logging.getLogger(__name__)


class WorkerBusyError(RuntimeError):
    """The pool already holds as much work as it may; try again later (503)."""


class DeadlineExceededError(TimeoutError):
    """The work did not finish within the request's deadline; it goes on in the pool."""


class PaymentWorker:
    """A bounded thread pool for payment work; ``workers`` threads, ``max_pending`` queued."""

    def __init__(self, workers: int, max_pending: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="payments")
        self._slots = threading.BoundedSemaphore(max_pending)
        self._running_keys: set[str] = set()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0

    def submit(
        self, kind: str, work: Callable[..., T], *args: Any, key: str | None = None
    ) -> Future[T] | None:
        """Queue ``work(*args)``; ``None`` when work with the same ``key`` is still queued or
        running. Raises :class:`WorkerBusyError` when the pool is full."""
        with self._lock:
            if key is not None and key in self._running_keys:
                return None
            if not self._slots.acquire(blocking=False):
                PAYMENT_WORK.labels(kind=kind, result="refused_busy").inc()
                raise WorkerBusyError(f"{kind}: too much payment work pending")
            if key is not None:
                self._running_keys.add(key)
            self._pending += 1

        def run() -> T:
            try:
                result = work(*args)
                PAYMENT_WORK.labels(kind=kind, result="ok").inc()
                return result
            except Exception:
                PAYMENT_WORK.labels(kind=kind, result="error").inc()
                raise
            finally:
                with self._lock:
                    self._slots.release()
                    if key is not None:
                        self._running_keys.discard(key)
                    self._pending -= 1
                    self._idle.notify_all()

        return self._pool.submit(run)

    def submit_in_background(
        self, kind: str, work: Callable[..., Any], *args: Any, key: str
    ) -> bool:
        """Queue work nobody waits for; its failure is logged. ``False`` when not queued."""
        try:
            future = self.submit(kind, work, *args, key=key)
        except WorkerBusyError:
            return False
        if future is None:
            return False
        future.add_done_callback(_log_failure(kind, key))
        return True

    async def run(self, kind: str, deadline: float, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` in the pool, awaited at most ``deadline`` seconds.

        Raises :class:`WorkerBusyError`, :class:`DeadlineExceededError` (the work goes on), or
        whatever ``work`` raised.
        """
        future = self.submit(kind, work, *args)
        assert future is not None  # no key, so never deduplicated
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), deadline)
        except TimeoutError as error:
            future.add_done_callback(_log_failure(kind, "after deadline"))
            raise DeadlineExceededError(f"{kind}: not done within {deadline:g}s") from error

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no work is queued or running; ``False`` after ``timeout`` seconds."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def shutdown(self) -> None:
        """Stop taking work; wait for what is running."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _log_failure(kind: str, what: str) -> Callable[[Future[Any]], None]:
    def callback(future: Future[Any]) -> None:
        if not future.cancelled() and future.exception() is not None:
            log.warning("payment work %s (%s) failed: %s", kind, what, future.exception())

    return callback

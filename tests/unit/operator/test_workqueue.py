from __future__ import annotations

import asyncio

from apranova_operator.outcome import DONE, ReconcileResult, revisit
from apranova_operator.workqueue import WorkQueue, backoff_delay


def test_backoff_grows_and_is_capped() -> None:
    assert backoff_delay(1, None, 2.0, 60.0) == 2.0
    assert backoff_delay(3, None, 2.0, 60.0) == 8.0
    assert backoff_delay(1, 10.0, 2.0, 60.0) == 10.0
    assert backoff_delay(2, 10.0, 2.0, 60.0) == 20.0
    assert backoff_delay(30, 10.0, 2.0, 60.0) == 60.0


def test_requests_during_a_run_coalesce_into_one_more_run() -> None:
    calls: list[tuple[str, bool]] = []

    async def scenario() -> None:
        started = asyncio.Event()
        release = asyncio.Event()

        async def work(name: str, full: bool) -> ReconcileResult:
            calls.append((name, full))
            started.set()
            await release.wait()
            return DONE

        async def on_failure(name: str, error: BaseException) -> None:
            raise AssertionError(error)

        queue = WorkQueue(work, on_failure, concurrency=2, base_delay=0.01, max_delay=0.05)
        queue.request("ada", full=False)
        await started.wait()
        for _ in range(5):
            queue.request("ada", full=False)
        queue.request("ada", full=True)
        release.set()
        for _ in range(100):
            await asyncio.sleep(0.01)
            if len(queue) == 0:
                break
        assert len(queue) == 0, "idle enrollments leave no entry behind"
        await queue.close()

    asyncio.run(scenario())
    assert calls == [("ada", False), ("ada", True)]


def test_revisits_and_failures_are_run_again() -> None:
    attempts: list[str] = []
    failures: list[str] = []

    async def scenario() -> None:
        async def work(name: str, full: bool) -> ReconcileResult:
            attempts.append(name)
            if len(attempts) == 1:
                raise RuntimeError("api down")
            if len(attempts) == 2:
                return revisit(0.01)
            return DONE

        async def on_failure(name: str, error: BaseException) -> None:
            failures.append(str(error))

        queue = WorkQueue(work, on_failure, concurrency=1, base_delay=0.01, max_delay=0.05)
        queue.request("bob")
        for _ in range(200):
            await asyncio.sleep(0.01)
            if len(attempts) >= 3 and len(queue) == 0:
                break
        await queue.close()

    asyncio.run(scenario())
    assert attempts == ["bob", "bob", "bob"]
    assert failures == ["api down"]


def test_forget_cancels_a_scheduled_retry() -> None:
    attempts: list[str] = []

    async def scenario() -> None:
        async def work(name: str, full: bool) -> ReconcileResult:
            attempts.append(name)
            return revisit(0.05)

        async def on_failure(name: str, error: BaseException) -> None:
            raise AssertionError(error)

        queue = WorkQueue(work, on_failure, concurrency=1, base_delay=0.05, max_delay=0.05)
        queue.request("eve")
        await asyncio.sleep(0.01)
        queue.forget("eve")
        assert len(queue) == 0
        await asyncio.sleep(0.15)
        await queue.close()

    asyncio.run(scenario())
    assert attempts == ["eve"]

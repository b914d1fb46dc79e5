"""The payment worker: bounded, deduplicated, and never holding a request past its deadline."""

from __future__ import annotations

import asyncio
import threading

import pytest

from apranova_api.payments.worker import DeadlineExceededError, PaymentWorker, WorkerBusyError


def test_full_pool_refuses_and_same_key_is_queued_once() -> None:
    release = threading.Event()
    worker = PaymentWorker(workers=1, max_pending=2)
    try:
        assert worker.submit("t", release.wait, key="a") is not None
        assert worker.submit("t", release.wait, key="a") is None
        assert worker.submit("t", release.wait, key="b") is not None
        with pytest.raises(WorkerBusyError):
            worker.submit("t", release.wait, key="c")
        assert worker.submit_in_background("t", release.wait, key="c") is False
    finally:
        release.set()
        assert worker.wait_idle(10)
        worker.shutdown()


def test_a_request_waits_at_most_its_deadline_and_the_work_goes_on() -> None:
    release = threading.Event()
    finished = threading.Event()

    def slow() -> str:
        release.wait(10)
        finished.set()
        return "done"

    worker = PaymentWorker(workers=1, max_pending=4)
    try:
        with pytest.raises(DeadlineExceededError):
            asyncio.run(worker.run("t", 0.05, slow))
        assert not finished.is_set()
        release.set()
        assert worker.wait_idle(10) and finished.is_set()
        assert asyncio.run(worker.run("t", 5, lambda: "quick")) == "quick"
    finally:
        release.set()
        worker.shutdown()

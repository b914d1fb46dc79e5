"""Every background worker of the API, started and stopped by the app's lifespan.

:func:`background_workers` starts the status cache's watch thread, the e-mail outbox sender and
(unless a test turns it off) the enrollment repair loop, and on shutdown stops all three, lets
the payment worker (:mod:`apranova_api.payments.worker`, whose threads start on demand) finish
its bounded work, and closes the database engine. Nothing else starts a thread or a task that
outlives a request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from apranova_api.payments.repair import RepairLoop
from apranova_api.services import Services

log = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 15


@asynccontextmanager
async def background_workers(
    services: Services, repair_interval: float | None
) -> AsyncIterator[None]:
    """Run the workers for the lifetime of the ``async with`` block (``repair_interval``:
    seconds between repair passes, None: no repair loop)."""
    stop = asyncio.Event()
    repair = RepairLoop(services, repair_interval) if repair_interval is not None else None
    if repair is not None:
        repair.start()
    services.status_cache.start()
    outbox = asyncio.create_task(services.outbox.run(stop), name="email-outbox")
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(outbox, timeout=STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            log.warning("the e-mail outbox did not stop in time")
        await asyncio.to_thread(services.status_cache.stop)
        if repair is not None:
            repair.stop()
        await asyncio.to_thread(services.worker.shutdown)
        services.engine.dispose()

"""The accounts part's long-lived collaborators, started and stopped with the app.

The app's lifespan calls :func:`start_accounts` after building its services and
:func:`stop_accounts` on shutdown; the routes find the runtime on ``app.state.accounts``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from fastapi import FastAPI
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException
from sqlalchemy.orm import Session, sessionmaker

from apranova_api.accounts.outbox import InviteLookup, InviteState, OutboxSender
from apranova_api.accounts.settings import AccountsSettings
from apranova_api.kube import Kube
from apranova_api.status_cache import StatusCache

log = logging.getLogger(__name__)


def custom_objects_api() -> client.CustomObjectsApi:
    """A client from ``KUBECONFIG`` (or ``~/.kube/config``), else the in-cluster account."""
    try:
        return client.CustomObjectsApi(config.new_client_from_config())
    except (ConfigException, OSError, TypeError):
        config.load_incluster_config()
        return client.CustomObjectsApi(client.ApiClient())


@dataclass
class AccountsRuntime:
    """What the accounts routes need besides the request."""

    settings: AccountsSettings
    sessions: sessionmaker[Session]
    kube: Kube
    status_cache: StatusCache
    outbox: OutboxSender
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def invite_lookup(status_cache: StatusCache) -> InviteLookup:
    """Enrollment name -> the Discord invite in that enrollment's status, from the cache."""

    def invite_of(name: str) -> InviteState:
        view = status_cache.get(name)
        if view is None:
            return InviteState(invite=None, pending=True)
        return InviteState(invite=view.discord_invite, pending=not view.integrations_settled)

    return invite_of


def start_accounts(
    app: FastAPI, sessions: sessionmaker[Session], kube: Kube, settings: AccountsSettings
) -> AccountsRuntime:
    """Start the status cache's watch and the outbox sender; put the runtime on ``app.state``."""
    status_cache = StatusCache(custom_objects_api)
    outbox = OutboxSender(sessions, settings, invite_of=invite_lookup(status_cache))
    runtime = AccountsRuntime(
        settings=settings,
        sessions=sessions,
        kube=kube,
        status_cache=status_cache,
        outbox=outbox,
    )
    status_cache.start()
    runtime.tasks.append(asyncio.create_task(outbox.run(runtime.stop_event), name="email-outbox"))
    app.state.accounts = runtime
    return runtime


async def stop_accounts(runtime: AccountsRuntime) -> None:
    """Stop the outbox sender and the watch thread."""
    runtime.stop_event.set()
    for task in runtime.tasks:
        try:
            await asyncio.wait_for(task, timeout=15)
        except TimeoutError:
            log.warning("accounts: %s did not stop in time", task.get_name())
    await asyncio.to_thread(runtime.status_cache.stop)

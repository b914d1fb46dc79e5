"""The provisioning steps the handlers run after the namespace exists, in order.

Each entry is a :class:`RegisteredStep`, bound to its section of the operator's settings (read
and validated once at start-up, see :mod:`apranova_operator.config`). ``applies`` decides, from
the track spec, whether the step runs for an enrollment
(for example the database step only for tracks with ``database: true``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from apranova_operator.config import OperatorConfig
from apranova_operator.steps import CleanupStep, ReconcileStep


@dataclass(frozen=True)
class RegisteredStep:
    name: str
    condition_type: str
    applies: Callable[[Mapping[str, Any]], bool]
    reconcile: ReconcileStep
    cleanup: CleanupStep


def registered_steps(config: OperatorConfig) -> list[RegisteredStep]:
    """The steps with their settings (and the database step's one admin pool), imported lazily
    so a step's dependencies load only when the operator runs."""
    from apranova_operator.database import step as database
    from apranova_operator.integrations import step as integrations

    pool = database.admin_pool(config.database)
    return [
        RegisteredStep(
            name="database",
            condition_type=database.CONDITION_TYPE,
            applies=lambda track_spec: bool(track_spec.get("database")),
            reconcile=partial(database.reconcile, settings=config.database, pool=pool),
            cleanup=partial(database.cleanup, settings=config.database, pool=pool),
        ),
        RegisteredStep(
            name="integrations",
            condition_type=integrations.CONDITION_TYPE,
            applies=integrations.applies,
            reconcile=partial(integrations.reconcile, settings=config.integrations),
            cleanup=partial(integrations.cleanup, settings=config.integrations),
        ),
    ]

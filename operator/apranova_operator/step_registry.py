"""The provisioning steps the handlers run after the namespace exists, in order.

Each entry is a :class:`RegisteredStep`. ``validate_settings`` is called once at operator start-up
so a bad setting stops the operator with a clear message instead of failing at the first
enrollment. ``applies`` decides, from the track spec, whether the step runs for an enrollment
(for example the database step only for tracks with ``database: true``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from apranova_operator.steps import CleanupStep, ReconcileStep


@dataclass(frozen=True)
class RegisteredStep:
    name: str
    condition_type: str
    applies: Callable[[Mapping[str, Any]], bool]
    reconcile: ReconcileStep
    cleanup: CleanupStep
    validate_settings: Callable[[], None]


def registered_steps() -> list[RegisteredStep]:
    """The steps, imported lazily so a step's dependencies load only when the operator runs."""
    from apranova_operator.database import step as database
    from apranova_operator.integrations import settings as integrations_settings
    from apranova_operator.integrations import step as integrations

    return [
        RegisteredStep(
            name="database",
            condition_type=database.CONDITION_TYPE,
            applies=lambda track_spec: bool(track_spec.get("database")),
            reconcile=database.reconcile,
            cleanup=database.cleanup,
            validate_settings=database.validate_settings,
        ),
        RegisteredStep(
            name="integrations",
            condition_type=integrations.CONDITION_TYPE,
            applies=integrations.applies,
            reconcile=integrations.reconcile,
            cleanup=integrations.cleanup,
            validate_settings=integrations_settings.validate_settings,
        ),
    ]

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
    return []

"""The operator process's one settings object, with a section per part of the operator.

Sections read their own environment variables (names unchanged, see README.md): ``core``
(:class:`~apranova_operator.settings.OperatorSettings`), ``database`` (``STUDENT_DB_*``) and
``integrations`` (Discord, GitHub). ``apranova operator`` reads them once, in ``main``, and
passes them down: the core to the reconciler, each step's section to that step.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from apranova.settings_errors import SettingsError, describe_settings_errors
from apranova_operator.database.settings import DatabaseSettings
from apranova_operator.integrations.settings import IntegrationSettings
from apranova_operator.settings import OperatorSettings


@dataclass(frozen=True)
class OperatorConfig:
    """Every setting of the operator process, by section."""

    core: OperatorSettings
    database: DatabaseSettings
    integrations: IntegrationSettings


def load_operator_config() -> OperatorConfig:
    """Read every section from the environment; :class:`SettingsError` lists every problem."""
    problems: list[str] = []
    core = database = integrations = None
    try:
        core = OperatorSettings()
    except ValidationError as error:
        problems.extend(describe_settings_errors(error))
    try:
        database = DatabaseSettings()
    except ValidationError as error:
        problems.extend(describe_settings_errors(error, prefix="STUDENT_DB_"))
    try:
        integrations = IntegrationSettings()
    except ValidationError as error:
        problems.extend(describe_settings_errors(error))
    if problems or core is None or database is None or integrations is None:
        raise SettingsError(problems)
    return OperatorConfig(core=core, database=database, integrations=integrations)

"""``apranova operator``: validate the settings, then run the Kopf operator."""

from __future__ import annotations

import argparse
import logging
import sys

import kopf

from apranova.listen_checks import bind_problem
from apranova_operator import metrics
from apranova_operator.config import OperatorConfig, SettingsError, load_operator_config
from apranova_operator.events import EventRecorder
from apranova_operator.handlers import build_registry
from apranova_operator.kube import Kube, load_api_client
from apranova_operator.own_writes import OwnWrites
from apranova_operator.reconciler import Reconciler
from apranova_operator.settings import OperatorSettings
from apranova_operator.step_registry import RegisteredStep, registered_steps
from apranova_operator.workqueue import WorkQueue

EXIT_BAD_SETTINGS = 2


def _fail(lines: list[str]) -> int:
    for line in lines:
        print(f"apranova operator: invalid setting: {line}", file=sys.stderr)
    return EXIT_BAD_SETTINGS


def load_settings() -> tuple[OperatorConfig, list[RegisteredStep]] | list[str]:
    """The settings (read once, here) and the steps built from them, or one line per bad value."""
    try:
        config = load_operator_config()
    except SettingsError as error:
        return error.problems
    return config, registered_steps(config)


def listen_problems(settings: OperatorSettings) -> list[str]:
    """One line per health or metrics port the operator cannot listen on right now."""
    ports = {"OPERATOR_HEALTH_PORT": settings.operator_health_port}
    if settings.operator_metrics_port:
        ports["OPERATOR_METRICS_PORT"] = settings.operator_metrics_port
    lines = []
    for name, port in ports.items():
        problem = bind_problem(settings.operator_health_host, port)
        if problem:
            lines.append(f"{name}: {problem}")
    return lines


def run_operator(argv: list[str]) -> int:
    """Run until SIGTERM/SIGINT; exit 2 (with a message per bad value) on invalid settings."""
    parser = argparse.ArgumentParser(prog="apranova operator", description=__doc__)
    parser.parse_args(argv)
    loaded = load_settings()
    if isinstance(loaded, list):
        return _fail(loaded)
    config, steps = loaded
    settings = config.core
    busy = listen_problems(settings)
    if busy:
        return _fail(busy)
    kopf.configure(
        verbose=settings.log_level == "DEBUG",
        quiet=settings.log_level in ("WARNING", "ERROR"),
        log_format=kopf.LogFormat.JSON if settings.log_format == "json" else kopf.LogFormat.FULL,
    )
    logging.getLogger().setLevel(settings.log_level)
    logging.getLogger("apranova_operator").setLevel(settings.log_level)
    if settings.log_level != "DEBUG":
        # Kopf logs every watch event's handler at INFO; the operator logs what matters itself.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    own_writes = OwnWrites()
    try:
        kube = Kube(load_api_client(), own_writes)
    except Exception as error:
        print(f"apranova operator: cannot load Kubernetes credentials: {error}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    reconciler = Reconciler(kube, settings, EventRecorder(kube), steps, own_writes)
    queue = WorkQueue(
        reconciler.work,
        reconciler.report_failure,
        concurrency=settings.max_concurrent_reconciles,
        base_delay=settings.retry_base_seconds,
        max_delay=settings.retry_max_seconds,
    )
    registry = build_registry(reconciler, queue, settings.enrollment_selector, own_writes)
    metrics.serve(settings.operator_metrics_port, settings.operator_health_host)
    kopf.run(
        registry=registry,
        standalone=True,
        clusterwide=True,
        liveness_endpoint=(
            f"http://{settings.operator_health_host}:{settings.operator_health_port}/healthz"
        ),
    )
    return 0

"""Reconciling one enrollment: the imperative shell around the pure renderers.

``converge`` reads the enrollment and its track, applies the namespace and its base objects with
server-side apply, runs the registered steps, applies the tools (after the steps, so their pod
templates carry the digest of the database Secret a step just wrote), prunes objects that are no
longer desired and writes the status. ``refresh`` only recomputes tool readiness from the
Deployments (cheap; runs on every Deployment status change). ``finalize`` tears the environment
down when the enrollment is deleted. Each answers a
:class:`~apranova_operator.outcome.ReconcileResult`: done, a revisit after an exact delay (not an
error) or a failure (retried with backoff).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from apranova_contract import labels, names
from apranova_contract.status import NAMESPACE_READY, READY, RUNNING_PHASES, TOOLS_READY
from apranova_operator.clock import now_iso, parse_timestamp
from apranova_operator.event_summary import objects_message, transitions_event
from apranova_operator.events import EnrollmentEvents, EventRecorder
from apranova_operator.kube import NAMESPACED_CHILD_KINDS, Kube, KubeError
from apranova_operator.metrics import (
    ENROLLMENT_PHASES,
    FINALIZER_RUNS,
    RECONCILE_DURATION,
    RECONCILE_ERRORS,
    RECONCILES,
    TIME_TO_READY,
)
from apranova_operator.outcome import DONE, ReconcileResult, failed, revisit, soonest
from apranova_operator.own_writes import OwnWrites
from apranova_operator.render import credentials, namespace, network, quota, retention, tools
from apranova_operator.render.context import InvalidInput, RenderContext, render_context
from apranova_operator.render.status import (
    Check,
    compose_status,
    deployment_readiness,
    set_condition,
    status_changes,
    tools_check,
    transitions,
)
from apranova_operator.secret_store import KubeSecretStore
from apranova_operator.settings import OperatorSettings
from apranova_operator.step_registry import RegisteredStep
from apranova_operator.steps import StepContext, StepResult
from apranova_operator.watched_bodies import WatchedBodies

log = logging.getLogger(__name__)

PRUNABLE_TOOL_KINDS = ("Deployment", "Service", "Ingress", "PersistentVolumeClaim", "Secret")
NAMESPACE_RETRY = 2.0
"""Seconds between looks at a namespace being deleted (its deletion event also triggers one)."""
NAMESPACE_RECHECK = 900.0
"""Safety net while a deleted enrollment's namespace empties: the namespace's own deletion event
normally asks for the last finalizer run long before. 15 minutes: with the namespace controller
busy (90 enrollments deleted while a thousand other namespaces emptied) namespaces took 400 s,
and a 5-minute net ran every finalizer a third time; the net only matters when a watch gap lost
the namespace's deletion event, and then the enrollment goes up to 15 minutes late."""
NAMESPACE_RECHECK_PER_DELETION = 1.5
"""Seconds added to the safety net per enrollment being deleted at the same time: the namespace
controller empties namespaces a few at a time (170 deleted at once took 147 s locally), so a
mass deletion would otherwise run every finalizer a third time before its namespace is gone."""
CLEANED_UP = "CleanedUp"

Key = tuple[str, str]


def namespace_recheck(deleting: int) -> float:
    """Seconds before looking again at a namespace being deleted, with ``deleting`` enrollments
    being deleted at once (see ``NAMESPACE_RECHECK_PER_DELETION``)."""
    return max(NAMESPACE_RECHECK, NAMESPACE_RECHECK_PER_DELETION * deleting)


@contextmanager
def timed(step: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        RECONCILE_DURATION.labels(step).observe(time.perf_counter() - started)


def _key(body: Mapping[str, Any]) -> Key:
    return body["kind"], body["metadata"]["name"]


def _revision(body: Mapping[str, Any]) -> str:
    """What changes when an object's desired state changes: its spec generation, or for kinds
    without one, the operator's own managed-fields entry (untouched by controllers' writes)."""
    metadata = body["metadata"]
    if metadata.get("generation"):
        return str(metadata["generation"])
    ours = [
        entry
        for entry in metadata.get("managedFields") or []
        if entry.get("manager") == labels.FIELD_MANAGER and entry.get("operation") == "Apply"
    ]
    return json.dumps(ours, sort_keys=True)


class Reconciler:
    def __init__(
        self,
        kube: Kube,
        settings: OperatorSettings,
        recorder: EventRecorder,
        steps: Sequence[RegisteredStep],
        own_writes: OwnWrites | None = None,
    ) -> None:
        self.kube = kube
        self.settings = settings
        self.recorder = recorder
        self.steps = list(steps)
        self.own_writes = own_writes
        self.enrollments = WatchedBodies()
        """Last known enrollment bodies: fed by the handlers' watch events and own writes."""
        self.tracks = WatchedBodies()
        """Last known tracks: fed by the handlers' watch events."""
        self._deleting: set[str] = set()

    def selected(self, body: Mapping[str, Any]) -> bool:
        """True when the enrollment carries every label of ``ENROLLMENT_SELECTOR``."""
        found = body.get("metadata", {}).get("labels") or {}
        return all(found.get(k) == v for k, v in self.settings.enrollment_selector.items())

    async def work(self, name: str, full: bool) -> ReconcileResult:
        """The work queue's entry point. A write refused as conflicting (``409``, the
        enrollment changed since the body it was based on) or a vanished object (``404``) runs
        the work once more from a fresh read of the enrollment."""
        RECONCILES.labels("full" if full else "refresh").inc()
        with timed("total" if full else "refresh"):
            try:
                return await (self.converge(name) if full else self.refresh(name))
            except KubeError as error:
                if error.status not in (404, 409):
                    raise
                log.info("work on %s: %s; again from a fresh read", name, error)
                self.enrollments.forget(name)
                return await (self.converge(name) if full else self.refresh(name))

    def forget(self, name: str) -> None:
        """Drop what is kept of an enrollment that is gone."""
        self.enrollments.forget(name)
        self._deleting.discard(name)

    async def _enrollment(self, name: str) -> dict[str, Any] | None:
        """The enrollment as last seen (see :mod:`~apranova_operator.watched_bodies`), or read."""
        body = self.enrollments.get(name)
        if body is None:
            body = await self.kube.get("StudentEnrollment", name)
            if body is not None:
                self.enrollments.put(body)
        return body

    async def _track(self, name: str) -> dict[str, Any] | None:
        """The track resource as last seen by its watch, or read."""
        return self.tracks.get(name) or await self.kube.get("Track", name)

    async def report_failure(self, name: str, error: BaseException) -> None:
        """An unexpected failure: count it, tell the enrollment's events and its Ready condition."""
        reason = "ApiError" if isinstance(error, KubeError) else type(error).__name__
        RECONCILE_ERRORS.labels(reason).inc()
        body = await self.kube.get("StudentEnrollment", name)
        if body is None:
            return
        self.recorder.for_enrollment(body)("Warning", "ReconcileFailed", str(error))
        await self._set_ready_condition(
            body, Check(READY, False, "ReconcileFailed", str(error)[:1000])
        )

    async def _set_ready_condition(self, body: Mapping[str, Any], check: Check) -> None:
        """Replace the ``Ready`` condition only, keeping the rest of the status."""
        current = body.get("status") or {}
        conditions = set_condition(
            current.get("conditions") or [],
            replace(check, message=check.message[:1000]),
            current.get("observedGeneration", 0),
            now_iso(),
        )
        if conditions == current.get("conditions"):
            return
        written = await self.kube.merge_patch(
            "StudentEnrollment",
            body["metadata"]["name"],
            {"status": {"conditions": conditions}},
            "status",
        )
        self.enrollments.put(written)

    # ---------------------------------------------------------------- converge

    async def converge(self, name: str) -> ReconcileResult:
        body = await self._enrollment(name)
        if body is None:
            self._deleting.discard(name)
            ENROLLMENT_PHASES.forget(name)
            return DONE
        if not self.selected(body):
            return DONE
        events = self.recorder.for_enrollment(body)
        if body["metadata"].get("deletionTimestamp"):
            return await self.finalize(body, events)
        body = await self._ensure_finalizer(body)
        spec = body["spec"]
        track_name = spec["track"]
        with timed("track"):
            track = await self._track(labels.track_resource_name(track_name))
        if track is None:
            message = f"track {track_name!r} does not exist; provisioning starts when it does"
            return await self._report_bad_input(
                body, events, Check(NAMESPACE_READY, False, "TrackNotFound", message), pending=True
            )
        try:
            ctx = render_context(body, track_name, track.get("spec") or {}, self.settings)
            track_tools = tools.track_tools(ctx)
            urls = {tool.name: tools.tool_url(ctx, tool) for tool in track_tools}
        except InvalidInput as error:
            return await self._report_bad_input(
                body, events, Check(TOOLS_READY, False, error.reason, error.message)
            )
        with timed("namespace"):
            found = await self.kube.get("Namespace", ctx.namespace)
        if not namespace.is_ours(found, name):
            message = f"namespace {ctx.namespace} exists and was not created for this enrollment"
            return await self._report_bad_input(
                body, events, Check(NAMESPACE_READY, False, "NamespaceConflict", message)
            )
        if found is not None and found["metadata"].get("deletionTimestamp"):
            message = f"namespace {ctx.namespace} is still being deleted"
            return await self._report_bad_input(
                body, events, Check(NAMESPACE_READY, False, "NamespaceTerminating", message)
            )
        return await self._provision(body, ctx, track_tools, urls, found is None, events)

    async def _provision(
        self,
        body: dict[str, Any],
        ctx: RenderContext,
        track_tools: list[tools.ToolSpec],
        urls: dict[str, str],
        new_namespace: bool,
        events: EnrollmentEvents,
    ) -> ReconcileResult:
        with timed("namespace"):
            await self.kube.apply(namespace.namespace(ctx))
        if new_namespace:
            events("Normal", "NamespaceCreated", f"created namespace {ctx.namespace}")
        # A namespace created just now holds nothing yet: no need to list or look up its objects.
        existing = {} if new_namespace else await self._children(ctx)
        changed: list[tuple[str, Key]] = []
        with timed("base"):
            base = [
                namespace.service_account(ctx),
                quota.resource_quota(ctx),
                quota.limit_range(ctx),
                *network.network_policies(ctx),
                *(await self._credential_secrets(ctx, track_tools, existing, not new_namespace)),
            ]
            await self._apply_all(base, existing, changed)
        step_results = await self._run_steps(body, ctx, events)
        ctx = await self._with_database_credentials(ctx, track_tools)
        with timed("tools"):
            tool_objects = [obj for tool in track_tools for obj in tools.tool_objects(ctx, tool)]
            applied = await self._apply_all(tool_objects, existing, changed)
        for verb, reason in (("created", "Created"), ("updated", "Updated")):
            keys = [key for how, key in changed if how == verb]
            if keys:
                events("Normal", reason, objects_message(verb, keys))
        desired = {_key(obj) for obj in base + tool_objects}
        with timed("prune"):
            await self._prune(existing, desired, events)
            kept = await self._retain_claims(body, ctx, existing, desired, events)
        tool_status = [
            self._tool_status(tool, urls[tool.name], applied.get(("Deployment", tool.name)))
            for tool in track_tools
        ]
        checks = [
            Check(NAMESPACE_READY, True, "NamespaceProvisioned", ""),
            tools_check(tool_status, ctx.suspended),
            *step_results,
        ]
        kept_check = retention.retained_check(kept)
        if kept_check is not None:
            checks.append(kept_check)
        extra: dict[str, Any] = {}
        for result in step_results:
            extra.update(result.status_patch)
        applicable = {r.type for r in step_results} | {c.type for c in checks}
        await self._write_status(
            body,
            compose_status(
                body.get("status") or {},
                generation=body["metadata"].get("generation", 0),
                namespace=ctx.namespace,
                checks=checks,
                now=now_iso(),
                tools=tool_status,
                suspended=ctx.suspended,
                suspension_reason=body["spec"].get("suspensionReason", ""),
                drop_condition_types=(
                    {s.condition_type for s in self.steps} | {retention.DATA_RETAINED}
                )
                - applicable,
                extra=extra,
            ),
            events,
        )
        return soonest([result.outcome() for result in step_results])

    async def _ensure_finalizer(self, body: dict[str, Any]) -> dict[str, Any]:
        finalizers = body["metadata"].get("finalizers") or []
        if labels.FINALIZER in finalizers:
            return body
        written = await self.kube.merge_patch(
            "StudentEnrollment",
            body["metadata"]["name"],
            {
                "metadata": {
                    "finalizers": [*finalizers, labels.FINALIZER],
                    "resourceVersion": body["metadata"]["resourceVersion"],
                }
            },
        )
        self.enrollments.put(written)
        return written

    async def _children(self, ctx: RenderContext) -> dict[Key, dict[str, Any]]:
        """The enrollment's existing objects in its namespace, by (kind, name)."""
        selector = {labels.ENROLLMENT: ctx.enrollment_name}
        lists = await asyncio.gather(
            *(self.kube.list(kind, ctx.namespace, selector) for kind in NAMESPACED_CHILD_KINDS)
        )
        return {
            (kind, item["metadata"]["name"]): {**item, "kind": kind}
            for kind, items in zip(NAMESPACED_CHILD_KINDS, lists, strict=True)
            for item in items
        }

    async def _credential_secrets(
        self,
        ctx: RenderContext,
        track_tools: list[tools.ToolSpec],
        existing: Mapping[Key, Mapping[str, Any]],
        look_up: bool = True,
    ) -> list[dict[str, Any]]:
        """Each tool's credentials Secret, keeping every value that already exists (``look_up``:
        read a Secret the listing missed, in case it lost its labels)."""
        secrets = []
        for tool in track_tools:
            name = credentials.credentials_secret_name(tool.name)
            found = existing.get(("Secret", name))
            if found is None and look_up:
                found = await self.kube.get("Secret", name, ctx.namespace)
            current = credentials.decode_secret_data(found) if found else {}
            data = credentials.complete_credentials(tool.kind, current, credentials.new_secret)
            secrets.append(credentials.secret(ctx, name, data, tool.name))
        return secrets

    async def _with_database_credentials(
        self, ctx: RenderContext, track_tools: list[tools.ToolSpec]
    ) -> RenderContext:
        """``ctx`` with the digest of the ``student-database`` Secret as it is now, after the
        steps (which write it) ran: a Secret that appeared or changed rolls the tools reading it."""
        if not any(tools.reads_database(ctx, tool) for tool in track_tools):
            return ctx
        data = await KubeSecretStore(self.kube, ctx).read(ctx.namespace, tools.DATABASE_SECRET)
        return replace(ctx, database_credentials=tools.credentials_digest(data))

    async def _apply_all(
        self,
        objects: Sequence[dict[str, Any]],
        existing: Mapping[Key, Mapping[str, Any]],
        changed: list[tuple[str, Key]],
    ) -> dict[Key, dict[str, Any]]:
        """Apply ``objects`` at once; append ``("created" | "updated", key)`` to ``changed``."""
        results = await asyncio.gather(*(self.kube.apply(obj) for obj in objects))
        applied = {}
        for obj, result in zip(objects, results, strict=True):
            key = _key(obj)
            applied[key] = result
            before = existing.get(key)
            if before is None:
                changed.append(("created", key))
            elif _revision(before) != _revision(result):
                changed.append(("updated", key))
        return applied

    async def _prune(
        self,
        existing: Mapping[Key, Mapping[str, Any]],
        desired: set[Key],
        events: EnrollmentEvents,
    ) -> None:
        """Delete the enrollment's tool objects and policies that are no longer desired."""
        for key, body in existing.items():
            kind, name = key
            found = body["metadata"].get("labels") or {}
            prunable = (
                kind in PRUNABLE_TOOL_KINDS
                and kind != "PersistentVolumeClaim"
                and labels.TOOL in found
            ) or (kind == "NetworkPolicy")
            if key in desired or not prunable:
                continue
            if found.get(labels.MANAGED_BY) != labels.MANAGED_BY_VALUE:
                continue
            if await self.kube.delete(kind, name, body["metadata"]["namespace"]):
                events("Normal", "Deleted", f"deleted {kind} {name}: no longer in the track")

    async def _retain_claims(
        self,
        enrollment: Mapping[str, Any],
        ctx: RenderContext,
        existing: Mapping[Key, Mapping[str, Any]],
        desired: set[Key],
        events: EnrollmentEvents,
    ) -> list[str]:
        """Keep the data claims of tools that left the track (see
        :mod:`~apranova_operator.render.retention`); unmark those whose tool is back; delete a
        kept one only when the enrollment opted in. Answers the names of the claims kept."""
        kept = []
        for (kind, name), body in existing.items():
            if kind != "PersistentVolumeClaim" or not retention.claim_tool(body):
                continue
            namespace = body["metadata"]["namespace"]
            tool = retention.claim_tool(body)
            if (kind, name) in desired:
                if retention.is_retained(body):
                    await self.kube.merge_patch(
                        kind, name, retention.restore_patch(), namespace=namespace
                    )
                    events("Normal", "DataRestored", f"tool {tool} is back: reusing claim {name}")
            elif retention.deletion_opted_in(enrollment, tool):
                if await self.kube.delete(kind, name, namespace):
                    events(
                        "Normal",
                        "RetainedDataDeleted",
                        f"deleted claim {name} of removed tool {tool}: "
                        f"{retention.DELETE_OPT_IN} names it",
                    )
            else:
                kept.append(name)
                if not retention.is_retained(body):
                    patch = retention.retain_patch(tool, ctx.track_name, now_iso())
                    await self.kube.merge_patch(kind, name, patch, namespace=namespace)
                    events(
                        "Warning",
                        "DataRetained",
                        retention.retained_message(name, tool, ctx.track_name),
                    )
        return kept

    def _tool_status(
        self, tool: tools.ToolSpec, url: str, deployment: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """A tool's status entry; its readiness as last seen (a controller's update may have
        arrived since the apply answered ``deployment``)."""
        metadata = (deployment or {}).get("metadata") or {}
        seen = (
            self.own_writes.readiness("Deployment", metadata.get("namespace", ""), tool.name)
            if self.own_writes is not None and deployment is not None
            else None
        )
        ready, message = seen if seen is not None else deployment_readiness(deployment)
        return {
            "name": tool.name,
            "kind": tool.kind,
            "url": url,
            "ready": ready,
            "message": message,
        }

    def _step_context(
        self, body: Mapping[str, Any], ctx: RenderContext, events: EnrollmentEvents
    ) -> StepContext:
        return StepContext(
            enrollment_name=ctx.enrollment_name,
            enrollment_uid=ctx.enrollment_uid,
            spec=body["spec"],
            status=body.get("status") or {},
            track_name=ctx.track_name,
            track_spec=ctx.track,
            namespace=ctx.namespace,
            secrets=KubeSecretStore(self.kube, ctx),
            record_event=events,
        )

    async def _run_steps(
        self, body: Mapping[str, Any], ctx: RenderContext, events: EnrollmentEvents
    ) -> list[StepResult]:
        step_ctx = self._step_context(body, ctx, events)
        results = []
        for step in self.steps:
            if not step.applies(ctx.track):
                continue
            with timed(step.name):
                try:
                    result = await step.reconcile(step_ctx)
                except Exception as error:
                    log.exception("step %s of %s failed", step.name, ctx.enrollment_name)
                    RECONCILE_ERRORS.labels("StepError").inc()
                    result = StepResult(
                        step.condition_type, False, "StepError", f"{step.name}: {error}"
                    )
            if not result.ready:
                RECONCILE_ERRORS.labels(result.reason).inc()
            results.append(result)
        return results

    async def _report_bad_input(
        self,
        body: dict[str, Any],
        events: EnrollmentEvents,
        check: Check,
        pending: bool = False,
    ) -> ReconcileResult:
        """A condition saying what is wrong; retried with backoff by the work queue."""
        RECONCILE_ERRORS.labels(check.reason).inc()
        events("Warning", check.reason, check.message)
        await self._write_status(
            body,
            compose_status(
                body.get("status") or {},
                generation=body["metadata"].get("generation", 0),
                namespace=names.namespace_name(body["metadata"]["name"]),
                checks=[check],
                now=now_iso(),
                waiting_for_track=pending,
                failed=not pending,
            ),
        )
        return failed(check.reason)

    async def _write_status(
        self,
        body: Mapping[str, Any],
        status: dict[str, Any],
        events: EnrollmentEvents | None = None,
    ) -> str | None:
        """Patch the status fields that changed; the new ``resourceVersion``, or None when
        nothing changed."""
        name = body["metadata"]["name"]
        current = body.get("status") or {}
        changes = status_changes(current, status)
        ENROLLMENT_PHASES.set(name, status["phase"])
        if not changes:
            return None
        precondition = {"resourceVersion": body["metadata"]["resourceVersion"]}
        with timed("status"):
            written = await self.kube.merge_patch(
                "StudentEnrollment", name, {"metadata": precondition, "status": changes}, "status"
            )
        self.enrollments.put(written)
        if events is not None:
            before = current.get("conditions") or []
            told = transitions_event(before, transitions(before, status["conditions"]))
            if told is not None:
                events(*told)
        if "readyAt" in status and not current.get("readyAt"):
            created = body["metadata"].get("creationTimestamp")
            if created:
                elapsed = parse_timestamp(status["readyAt"]) - parse_timestamp(created)
                TIME_TO_READY.observe(max(elapsed.total_seconds(), 0.0))
        return str(written["metadata"]["resourceVersion"])

    # ---------------------------------------------------------------- refresh

    async def refresh(self, name: str) -> ReconcileResult:
        """Tool readiness from the Deployments as their watch events showed them (a listing
        when this process has not seen one of them yet), without touching any other object."""
        body = await self._enrollment(name)
        if body is None or not self.selected(body) or body["metadata"].get("deletionTimestamp"):
            return DONE
        current = body.get("status") or {}
        if current.get("phase") not in RUNNING_PHASES:
            return DONE
        readiness = await self._tools_readiness(name, current)
        tool_status = [
            {**tool, "ready": readiness[tool["name"]][0], "message": readiness[tool["name"]][1]}
            for tool in current.get("tools") or []
        ]
        kept = [
            Check(c["type"], c["status"] == "True", c.get("reason", ""), c.get("message", ""))
            for c in current.get("conditions") or []
            if c.get("type") not in (READY, TOOLS_READY)
        ]
        await self._write_status(
            body,
            compose_status(
                current,
                generation=current.get("observedGeneration", 0),
                namespace=current["namespace"],
                checks=[*kept, tools_check(tool_status, suspended=False)],
                now=now_iso(),
                tools=tool_status,
            ),
            self.recorder.for_enrollment(body),
        )
        return DONE

    async def _tools_readiness(
        self, name: str, status: Mapping[str, Any]
    ) -> dict[str, tuple[bool, str]]:
        """``(ready, message)`` of each tool the status lists, by tool name."""
        namespace_name = status["namespace"]
        tool_names = [tool["name"] for tool in status.get("tools") or []]
        seen = {
            tool: self.own_writes.readiness("Deployment", namespace_name, tool)
            if self.own_writes is not None
            else None
            for tool in tool_names
        }
        if all(readiness is not None for readiness in seen.values()):
            return {tool: readiness for tool, readiness in seen.items() if readiness is not None}
        deployments = {
            item["metadata"]["name"]: item
            for item in await self.kube.list(
                "Deployment", namespace_name, {labels.ENROLLMENT: name}
            )
        }
        return {tool: deployment_readiness(deployments.get(tool)) for tool in tool_names}

    # ---------------------------------------------------------------- finalize

    async def _cleanup_steps(
        self, body: dict[str, Any], events: EnrollmentEvents
    ) -> ReconcileResult | None:
        """Every applicable step's cleanup; a failure when one fails, else None."""
        track = await self._track(labels.track_resource_name(body["spec"]["track"]))
        track_spec = (track or {}).get("spec") or {}
        ctx = render_context(body, body["spec"]["track"], track_spec, self.settings)
        step_ctx = self._step_context(body, ctx, events)
        for step in self.steps:
            if track is not None and not step.applies(track_spec):
                continue
            with timed(f"cleanup-{step.name}"):
                try:
                    await step.cleanup(step_ctx)
                except Exception as error:
                    log.exception("cleanup %s of %s failed", step.name, body["metadata"]["name"])
                    RECONCILE_ERRORS.labels("CleanupFailed").inc()
                    events("Warning", "CleanupFailed", f"{step.name}: {error}")
                    await self._set_ready_condition(
                        body, Check(READY, False, "CleanupFailed", f"{step.name}: {error}")
                    )
                    return failed("CleanupFailed")
        return None

    async def finalize(self, body: dict[str, Any], events: EnrollmentEvents) -> ReconcileResult:
        """Cleanup steps (once: a ``CleanedUp`` condition records that they succeeded), then the
        namespace, then let the enrollment go. The handlers run it when the deletion is seen
        and again when the namespace is gone; ``NAMESPACE_RECHECK`` is only a safety net."""
        metadata = body["metadata"]
        if labels.FINALIZER not in (metadata.get("finalizers") or []):
            return DONE
        FINALIZER_RUNS.inc()
        name = metadata["name"]
        ns_name = names.namespace_name(name)
        self._deleting.add(name)
        current = body.get("status") or {}
        cleaned = any(
            c.get("type") == CLEANED_UP and c.get("status") == "True"
            for c in current.get("conditions") or []
        )
        if current.get("phase") != "Terminating":
            events("Normal", "Terminating", "deleting the environment")
        failure = None if cleaned else await self._cleanup_steps(body, events)
        status = compose_status(
            current,
            generation=metadata.get("generation", 0),
            namespace=ns_name,
            checks=[],
            now=now_iso(),
            deleting=True,
        )
        if failure is None:
            status["conditions"] = set_condition(
                status["conditions"],
                Check(CLEANED_UP, True, "StepsCleanedUp", "every step's cleanup has run"),
                metadata.get("generation", 0),
                now_iso(),
            )
        version = await self._write_status(body, status) or metadata["resourceVersion"]
        if failure is not None:
            return failure
        found = await self.kube.get("Namespace", ns_name)
        if found is not None and namespace.is_ours(found, name):
            if not found["metadata"].get("deletionTimestamp"):
                await self.kube.delete("Namespace", ns_name)
                events("Normal", "NamespaceDeleting", f"deleting namespace {ns_name}")
            return revisit(namespace_recheck(len(self._deleting)))
        remaining = [f for f in metadata.get("finalizers") or [] if f != labels.FINALIZER]
        await self.kube.merge_patch(
            "StudentEnrollment",
            name,
            {"metadata": {"finalizers": remaining, "resourceVersion": version}},
        )
        self._deleting.discard(name)
        events("Normal", "Deleted", "environment deleted")
        ENROLLMENT_PHASES.forget(name)
        return DONE

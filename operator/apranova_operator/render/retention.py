"""Student data outlives Track edits: what to do with a tool's claim once the tool left the track.

Pure functions, no I/O. A ``PersistentVolumeClaim`` of a tool that is no longer in the
enrollment's track is never pruned with the tool's Deployment, Service and Ingress: it is kept,
labelled ``apranova.io/retained=true`` (with the time and the reason as annotations), and
reported in the ``DataRetained`` condition. A tool that comes back (the same name) finds its claim
again and the marks are removed. Only an explicit opt-in deletes a retained claim: the annotation
``apranova.io/delete-retained-data`` on the enrollment, naming the tools whose data may go
(``code,jupyter``) or ``*`` for every retained claim. Deleting the enrollment deletes its
namespace, retained claims included.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from apranova_contract import labels
from apranova_operator.render.status import Check

DATA_RETAINED = "DataRetained"
RETAINED_LABEL = "apranova.io/retained"
RETAINED_SINCE = "apranova.io/retained-since"
RETAINED_REASON = "apranova.io/retained-reason"
DELETE_OPT_IN = "apranova.io/delete-retained-data"


def deletion_opted_in(enrollment: Mapping[str, Any], tool: str) -> bool:
    """Whether the enrollment's ``apranova.io/delete-retained-data`` annotation names ``tool``
    (a comma-separated list of tool names, or ``*`` for all)."""
    annotations = enrollment.get("metadata", {}).get("annotations") or {}
    wanted = {part.strip() for part in str(annotations.get(DELETE_OPT_IN, "")).split(",")}
    return "*" in wanted or tool in wanted


def is_retained(claim: Mapping[str, Any]) -> bool:
    return (claim.get("metadata", {}).get("labels") or {}).get(RETAINED_LABEL) == "true"


def retain_patch(tool: str, track: str, now: str) -> dict[str, Any]:
    """A merge patch that marks a claim as kept after its tool left ``track``."""
    return {
        "metadata": {
            "labels": {RETAINED_LABEL: "true"},
            "annotations": {
                RETAINED_SINCE: now,
                RETAINED_REASON: f"tool {tool} is no longer in track {track}",
            },
        }
    }


def restore_patch() -> dict[str, Any]:
    """A merge patch that removes the marks of :func:`retain_patch` (the tool is back)."""
    return {
        "metadata": {
            "labels": {RETAINED_LABEL: None},
            "annotations": {RETAINED_SINCE: None, RETAINED_REASON: None},
        }
    }


def claim_tool(claim: Mapping[str, Any]) -> str:
    return str((claim.get("metadata", {}).get("labels") or {}).get(labels.TOOL, ""))


def retained_message(claim: str, tool: str, track: str) -> str:
    """The Event text when a claim is kept: what, why, and how to delete it deliberately."""
    return (
        f"kept PersistentVolumeClaim {claim}: tool {tool} is no longer in track {track}; "
        f"its data stays until the tool returns, the enrollment is deleted, or the enrollment "
        f"is annotated {DELETE_OPT_IN}={tool}"
    )


def retained_check(claims: Iterable[str]) -> Check | None:
    """The ``DataRetained`` condition (``True`` while claims are kept), or ``None`` for none.

    It does not count against ``Ready``: kept data is not a fault.
    """
    kept = sorted(claims)
    if not kept:
        return None
    return Check(
        DATA_RETAINED,
        True,
        "ClaimsKept",
        f"kept data of tools no longer in the track: {', '.join(kept)} "
        f"(annotate the enrollment {DELETE_OPT_IN}=<tool> to delete)",
    )

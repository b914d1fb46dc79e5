"""Label, annotation and finalizer names shared by the operator and the API.

The API imports these to label the enrollments it creates and to find an enrollment's objects;
the operator puts :func:`child_labels` on every object it creates.
"""

from __future__ import annotations

GROUP = "apranova.io"
VERSION = "v1alpha1"
ENROLLMENT_PLURAL = "studentenrollments"
TRACK_PLURAL = "tracks"
FIELD_MANAGER = "apranova-operator"

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "apranova-operator"
NAME = "app.kubernetes.io/name"
COMPONENT = "app.kubernetes.io/component"
ENROLLMENT = "apranova.io/enrollment"
TRACK = "apranova.io/track"
STUDENT = "apranova.io/student"
TOOL = "apranova.io/tool"
"""Only on objects that belong to one tool; removing the tool from a track prunes them."""

FINALIZER = "apranova.io/cleanup"
"""Held on every enrollment until its environment (steps, then namespace) is gone."""


def track_resource_name(track: str) -> str:
    """The name of the Track resource an enrollment's ``spec.track`` refers to.

    Object names are lower-case, while tracks are spoken of as DP and FSD; the reference is
    case-insensitive, so ``track: DP`` means the Track ``dp``.
    """
    return track.lower()


def child_labels(
    enrollment: str, track: str, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The labels of every object the operator creates for an enrollment."""
    return {
        **(extra or {}),
        MANAGED_BY: MANAGED_BY_VALUE,
        ENROLLMENT: enrollment,
        TRACK: track,
    }


def tool_labels(
    enrollment: str, track: str, tool: str, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The labels of an object that belongs to one tool (Deployment, Service, PVC, ...)."""
    return {**child_labels(enrollment, track, extra), TOOL: tool, NAME: tool}


def tool_selector(enrollment: str, tool: str) -> dict[str, str]:
    """The pod selector of a tool's Deployment and Service (immutable, so kept minimal)."""
    return {ENROLLMENT: enrollment, TOOL: tool}

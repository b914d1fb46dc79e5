"""Coordinates, label keys and the finalizer shared by the operator and the API.

The API imports these to label the enrollments it creates and to find an enrollment's objects;
the operator puts :func:`child_labels` on every object it creates.
"""

from __future__ import annotations

import re

GROUP = "apranova.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
ENROLLMENT_KIND = "StudentEnrollment"
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


LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
"""A Kubernetes label key: an optional DNS-subdomain prefix and ``/``, then a 63-character name."""
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
"""A Kubernetes label value (may be empty)."""


def is_label(key: str, value: str) -> bool:
    """True when ``key=value`` is a valid Kubernetes label (rules of the Kubernetes docs,
    "Labels and Selectors": syntax and character set)."""
    return bool(LABEL_KEY.match(key)) and bool(LABEL_VALUE.match(value))

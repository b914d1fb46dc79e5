"""The plain data every renderer reads: one enrollment, its track and the settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from apranova_contract import labels, names
from apranova_contract.spec import read_spec
from apranova_operator.settings import OperatorSettings

CREDENTIALS_ABSENT = "absent"
"""The credentials digest while the ``student-database`` Secret does not exist."""


class InvalidInput(ValueError):
    """The enrollment or its track cannot be rendered; ``reason`` names the problem."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class RenderContext:
    """One enrollment with its track, as the renderers need it."""

    enrollment_name: str
    enrollment_uid: str
    username: str
    email: str
    track_name: str
    track: Mapping[str, Any]
    suspended: bool
    settings: OperatorSettings
    selector_labels: Mapping[str, str] = field(default_factory=dict)
    database_credentials: str = CREDENTIALS_ABSENT
    """Digest of the ``student-database`` Secret's data (see
    :func:`apranova_operator.render.tools.credentials_digest`), read by the reconciler; it goes
    into the pod template of every tool that reads the Secret, so a new or rotated Secret rolls
    the tool."""

    @property
    def namespace(self) -> str:
        return names.namespace_name(self.enrollment_name)

    def labels(self) -> dict[str, str]:
        return labels.child_labels(
            self.enrollment_name, self.track_name, dict(self.selector_labels)
        )

    def tool_labels(self, tool: str) -> dict[str, str]:
        return labels.tool_labels(
            self.enrollment_name, self.track_name, tool, dict(self.selector_labels)
        )

    def owner_reference(self) -> dict[str, Any]:
        return {
            "apiVersion": labels.API_VERSION,
            "kind": labels.ENROLLMENT_KIND,
            "name": self.enrollment_name,
            "uid": self.enrollment_uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }

    def metadata(self, name: str, tool: str | None = None) -> dict[str, Any]:
        """Metadata of a namespaced child object."""
        return {
            "name": name,
            "namespace": self.namespace,
            "labels": self.tool_labels(tool) if tool else self.labels(),
        }


def render_context(
    body: Mapping[str, Any],
    track_name: str,
    track_spec: Mapping[str, Any],
    settings: OperatorSettings,
) -> RenderContext:
    """A :class:`RenderContext` from an enrollment object and its track's spec.

    Labels of the enrollment that the operator's selector matches are copied to every child, so
    an operator restricted by ``ENROLLMENT_SELECTOR`` also watches only its own children.
    """
    metadata = body.get("metadata", {})
    spec = read_spec(body.get("spec") or {})
    username = spec.student.username
    if not names.is_dns_label(username, names.USERNAME_MAX):
        raise InvalidInput("InvalidUsername", f"username {username!r} is not a valid DNS label")
    if not names.is_enrollment_name(metadata["name"], username):
        raise InvalidInput(
            "InvalidName",
            f"enrollment name {metadata['name']!r} must be {username!r} or start with "
            f"'{username}-' (at most {names.ENROLLMENT_NAME_MAX} characters)",
        )
    enrollment_labels = metadata.get("labels") or {}
    return RenderContext(
        enrollment_name=metadata["name"],
        enrollment_uid=metadata.get("uid", ""),
        username=username,
        email=spec.student.email,
        track_name=track_name,
        track=track_spec,
        suspended=spec.suspended,
        settings=settings,
        selector_labels={
            key: enrollment_labels[key]
            for key in settings.enrollment_selector
            if key in enrollment_labels
        },
    )

"""The student's Namespace and ServiceAccount."""

from __future__ import annotations

from typing import Any

from apranova_contract import labels
from apranova_operator.render.context import RenderContext

SERVICE_ACCOUNT = "student"


def namespace(ctx: RenderContext) -> dict[str, Any]:
    """``student-<username>``, labelled with the student and track, owned by the enrollment."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": ctx.namespace,
            "labels": {**ctx.labels(), labels.STUDENT: ctx.username},
            "ownerReferences": [ctx.owner_reference()],
        },
    }


def service_account(ctx: RenderContext) -> dict[str, Any]:
    """The identity of the tools' pods; no API token is mounted into them."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": ctx.metadata(SERVICE_ACCOUNT),
        "automountServiceAccountToken": False,
    }


def is_ours(namespace_body: dict[str, Any] | None, enrollment_name: str) -> bool:
    """True when an existing namespace was created by the operator for this enrollment."""
    if namespace_body is None:
        return True
    found = (namespace_body.get("metadata", {}).get("labels") or {}).get(labels.ENROLLMENT)
    return found == enrollment_name

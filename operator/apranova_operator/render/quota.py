"""ResourceQuota and LimitRange from the track's quota."""

from __future__ import annotations

from typing import Any

from apranova_operator.render.context import RenderContext

QUOTA_NAME = "student-quota"
LIMIT_RANGE_NAME = "student-limits"
DEFAULT_CONTAINER = {
    "cpuRequest": "100m",
    "memoryRequest": "128Mi",
    "cpuLimit": "500m",
    "memoryLimit": "512Mi",
}


def resource_quota(ctx: RenderContext) -> dict[str, Any]:
    """Caps the namespace's total cpu, memory, storage and pods at the track's quota."""
    quota = ctx.track["quota"]
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": ctx.metadata(QUOTA_NAME),
        "spec": {
            "hard": {
                "limits.cpu": str(quota["cpu"]),
                "limits.memory": str(quota["memory"]),
                "requests.cpu": str(quota["cpu"]),
                "requests.memory": str(quota["memory"]),
                "requests.storage": str(quota["storage"]),
                "pods": str(quota["pods"]),
            }
        },
    }


def limit_range(ctx: RenderContext) -> dict[str, Any]:
    """Defaults for containers without resources, so the quota admits them."""
    defaults = {**DEFAULT_CONTAINER, **(ctx.track["quota"].get("containerDefaults") or {})}
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": ctx.metadata(LIMIT_RANGE_NAME),
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "defaultRequest": {
                        "cpu": defaults["cpuRequest"],
                        "memory": defaults["memoryRequest"],
                    },
                    "default": {"cpu": defaults["cpuLimit"], "memory": defaults["memoryLimit"]},
                }
            ]
        },
    }

"""The floor: a minimal client that server-side applies an enrollment's child objects itself.

It renders exactly the Kubernetes objects the operator would (the operator's own pure renderers:
namespace, service account, quota, limit range, network policies, credential Secrets and per tool
a claim, Deployment, Service and Ingress), applies the namespace and then the rest concurrently
through the operator's own adapter (server-side apply, one request per object), and reads
nothing back: what is left is the time the cluster itself takes to make the Deployments
Available. No database, no integrations, no status, no Events. Its objects carry
``apranova.io/bench-floor=<run>`` (not the operator's label), so no operator reacts to them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from apranova_operator.kube import Kube
from apranova_operator.render import credentials, namespace, network, quota, tools
from apranova_operator.render.context import render_context
from apranova_operator.settings import OperatorSettings

FLOOR_LABEL = "apranova.io/bench-floor"


def floor_body(username: str, track: str) -> dict[str, Any]:
    """A stand-in enrollment object for the renderers (never sent to the cluster)."""
    return {
        "metadata": {"name": username, "uid": ""},
        "spec": {
            "student": {"username": username, "email": f"{username}@example.com"},
            "track": track,
        },
    }


def floor_objects(
    username: str, track: str, track_spec: Mapping[str, Any], run: str
) -> list[dict[str, Any]]:
    """Every child object of one enrollment, namespace first, as the operator renders them."""
    settings = OperatorSettings()
    ctx = render_context(floor_body(username, track), track, track_spec, settings)
    ctx = replace(ctx, selector_labels={FLOOR_LABEL: run})
    track_tools = tools.track_tools(ctx)
    ns = namespace.namespace(ctx)
    ns["metadata"].pop("ownerReferences", None)
    secrets = [
        credentials.secret(
            ctx,
            credentials.credentials_secret_name(tool.name),
            credentials.complete_credentials(tool.kind, {}, credentials.new_secret),
            tool.name,
        )
        for tool in track_tools
    ]
    return [
        ns,
        namespace.service_account(ctx),
        quota.resource_quota(ctx),
        quota.limit_range(ctx),
        *network.network_policies(ctx),
        *secrets,
        *(obj for tool in track_tools for obj in tools.tool_objects(ctx, tool)),
    ]


def deployment_count(objects: Sequence[Mapping[str, Any]]) -> int:
    return sum(1 for obj in objects if obj["kind"] == "Deployment")


async def apply_enrollment(kube: Kube, objects: Sequence[Mapping[str, Any]]) -> None:
    """The namespace, then every other object at once."""
    await kube.apply(objects[0])
    await asyncio.gather(*(kube.apply(obj) for obj in objects[1:]))


async def apply_many(
    kube: Kube, batches: Sequence[Sequence[Mapping[str, Any]]], concurrency: int = 8
) -> None:
    """Apply several enrollments' objects, at most ``concurrency`` enrollments at a time (the
    operator's default ``MAX_CONCURRENT_RECONCILES``)."""
    slots = asyncio.Semaphore(concurrency)

    async def one(objects: Sequence[Mapping[str, Any]]) -> None:
        async with slots:
            await apply_enrollment(kube, objects)

    await asyncio.gather(*(one(batch) for batch in batches))


async def delete_namespaces(kube: Kube, names: Sequence[str]) -> None:
    await asyncio.gather(*(kube.delete("Namespace", name) for name in names))

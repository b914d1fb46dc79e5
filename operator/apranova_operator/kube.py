"""A thin Kubernetes adapter: server-side apply, get, list, delete, status patches, events.

Blocking calls of the ``kubernetes`` client run in worker threads, so Kopf's event loop never
waits on the network. Objects are plain dicts in and out.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes import client, config

from apranova_contract import labels

_REQUEST_TIMEOUT = 30


@dataclass(frozen=True)
class Resource:
    """Where a kind lives in the API, and whether the operator creates it for an enrollment."""

    api_version: str
    plural: str
    namespaced: bool
    child: bool = False
    """An enrollment's child: watched (drift is repaired), listed by the reconciler, prunable."""

    @property
    def group(self) -> str:
        """The API group ("" for the core group)."""
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name else base


RESOURCES: dict[str, Resource] = {
    "Namespace": Resource("v1", "namespaces", False, child=True),
    "ServiceAccount": Resource("v1", "serviceaccounts", True, child=True),
    "ResourceQuota": Resource("v1", "resourcequotas", True, child=True),
    "LimitRange": Resource("v1", "limitranges", True, child=True),
    "NetworkPolicy": Resource("networking.k8s.io/v1", "networkpolicies", True, child=True),
    "Secret": Resource("v1", "secrets", True, child=True),
    "PersistentVolumeClaim": Resource("v1", "persistentvolumeclaims", True, child=True),
    "Deployment": Resource("apps/v1", "deployments", True, child=True),
    "Service": Resource("v1", "services", True, child=True),
    "Ingress": Resource("networking.k8s.io/v1", "ingresses", True, child=True),
    "Event": Resource("v1", "events", True),
    "StudentEnrollment": Resource(
        f"{labels.GROUP}/{labels.VERSION}", labels.ENROLLMENT_PLURAL, False
    ),
    "Track": Resource(f"{labels.GROUP}/{labels.VERSION}", labels.TRACK_PLURAL, False),
}
"""The one table of kinds: the adapter's paths, the handlers' watches and the reconciler's
listing of an enrollment's children all read it."""
CHILD_KINDS = tuple(kind for kind, resource in RESOURCES.items() if resource.child)
NAMESPACED_CHILD_KINDS = tuple(kind for kind in CHILD_KINDS if RESOURCES[kind].namespaced)


class KubeError(Exception):
    """A failed API call, with the HTTP status and the API server's message."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message


def load_api_client() -> client.ApiClient:
    """An API client from the in-cluster service account or ``KUBECONFIG``."""
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.ApiClient()


def label_selector(selector: Mapping[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in selector.items())


class Kube:
    """Async methods over one ``ApiClient``; every call runs in a worker thread."""

    def __init__(self, api_client: client.ApiClient) -> None:
        self._api = api_client

    def _request(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        method, url, headers, body, _ = self._api.param_serialize(
            method=method,
            resource_path=path,
            query_params=list((query or {}).items()) or None,
            header_params={"Content-Type": content_type, "Accept": "application/json"},
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self._api.call_api(
            method, url, header_params=headers, body=body, _request_timeout=_REQUEST_TIMEOUT
        )
        raw = response.read()
        data = json.loads(raw) if raw else {}
        if not 200 <= response.status < 300:
            raise KubeError(
                response.status, data.get("reason", response.reason or ""), data.get("message", "")
            )
        return data

    async def _call(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return await asyncio.to_thread(self._request, *args, **kwargs)

    async def apply(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side apply with the operator's field manager, taking over conflicting fields."""
        resource = RESOURCES[body["kind"]]
        metadata = body["metadata"]
        return await self._call(
            "PATCH",
            resource.path(metadata.get("namespace"), metadata["name"]),
            {"fieldManager": labels.FIELD_MANAGER, "force": "true"},
            body,
            "application/apply-patch+yaml",
        )

    async def get(
        self, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        """The object, or ``None`` when it does not exist."""
        try:
            return await self._call("GET", RESOURCES[kind].path(namespace, name))
        except KubeError as error:
            if error.status == 404:
                return None
            raise

    async def list(
        self, kind: str, namespace: str | None = None, selector: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        query = {"labelSelector": label_selector(selector)} if selector else None
        return (await self._call("GET", RESOURCES[kind].path(namespace), query)).get("items", [])

    async def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        resource = RESOURCES[body["kind"]]
        return await self._call(
            "POST", resource.path(body["metadata"].get("namespace")), None, body
        )

    async def delete(self, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete in the background; ``False`` when it was already gone."""
        try:
            await self._call(
                "DELETE",
                RESOURCES[kind].path(namespace, name),
                None,
                {"propagationPolicy": "Background"},
            )
        except KubeError as error:
            if error.status == 404:
                return False
            raise
        return True

    async def merge_patch(
        self, kind: str, name: str, patch: Mapping[str, Any], subresource: str = ""
    ) -> dict[str, Any]:
        path = RESOURCES[kind].path(None, name) + (f"/{subresource}" if subresource else "")
        return await self._call("PATCH", path, None, patch, "application/merge-patch+json")

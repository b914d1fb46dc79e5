"""What the cluster holds for one tool of one enrollment, read as plain data.

The tool's Deployment and Ingress as the API server returns them, and the namespace's Secrets
(decoded) and ConfigMaps: all a kubelet needs to start the container.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from apranova_contract import names


@dataclass(frozen=True)
class RenderedTool:
    """What the cluster holds for one tool of one enrollment, as plain data."""

    deployment: dict[str, Any]
    ingress: dict[str, Any]
    secrets: dict[str, dict[str, str]]
    config_maps: dict[str, dict[str, str]]

    @property
    def image(self) -> str:
        return self.deployment["spec"]["template"]["spec"]["containers"][0]["image"]

    @property
    def host(self) -> str:
        return self.ingress["spec"]["rules"][0]["host"]

    @property
    def ingress_path(self) -> str:
        return self.ingress["spec"]["rules"][0]["http"]["paths"][0]["path"]

    def credential(self, key: str) -> str:
        """A value of the tool's ``<tool>-credentials`` Secret."""
        tool = self.deployment["metadata"]["name"]
        return self.secrets[f"{tool}-credentials"][key]


def _name(item: Any) -> str:
    return str(item.metadata.name)


def read_rendered(api_client: Any, username: str, tool: str) -> RenderedTool:
    """The tool's Deployment and Ingress, and the namespace's Secrets and ConfigMaps (decoded).

    ``api_client`` is a ``kubernetes.client.ApiClient``; its ``ApiException`` (404 when the tool
    is not rendered yet) is not caught here.
    """
    from kubernetes import client

    namespace = names.namespace_name(username)
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    networking = client.NetworkingV1Api(api_client)
    plain = api_client.sanitize_for_serialization
    decoded = {
        _name(item): {k: base64.b64decode(v).decode() for k, v in (item.data or {}).items()}
        for item in core.list_namespaced_secret(namespace).items
    }
    config_maps = {
        _name(item): dict(item.data or {})
        for item in core.list_namespaced_config_map(namespace).items
    }
    return RenderedTool(
        deployment=plain(apps.read_namespaced_deployment(tool, namespace)),
        ingress=plain(networking.read_namespaced_ingress(tool, namespace)),
        secrets=decoded,
        config_maps=config_maps,
    )

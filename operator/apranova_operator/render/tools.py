"""Per tool of a track: PersistentVolumeClaim, Deployment, Service and Ingress.

Each tool kind is configured the way its own documentation requires: JupyterLab's token and base
URL, Superset's secret key, admin user and metadata database, Prefect's server with API auth and
UI URL, code-server's password. Credentials always come from the tool's Secret, never inline.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from apranova_contract import labels, names
from apranova_operator.render.context import CREDENTIALS_ABSENT, InvalidInput, RenderContext
from apranova_operator.render.credentials import credentials_secret_name
from apranova_operator.render.namespace import SERVICE_ACCOUNT

DATABASE_SECRET = "student-database"
"""Written by the database step; tools read it through optional references."""
DATABASE_CREDENTIALS_ANNOTATION = "apranova.io/database-credentials"
"""On the pod template of each tool reading :data:`DATABASE_SECRET`: the digest of its data.
Environment variables from a Secret are read only when a container starts, so a changed digest
(the Secret appeared, or its password was rotated) rolls the Deployment."""
DATABASE_URL_KEYS: Mapping[str, str] = {
    "jupyterlab": "sqlalchemy_url",
    "superset": "sqlalchemy_url",
    "prefect": "libpq_url",
}
"""Tool kinds that get ``DATABASE_URL`` in tracks with ``database: true``, and which key of the
database Secret it is: the URL the driver the image ships accepts. Superset and a notebook use
SQLAlchemy with psycopg2 (``postgresql+psycopg2://``); Prefect's image has no psycopg2 but asyncpg,
a dependency of Prefect itself (``requirements.txt`` of Prefect 3.1), whose ``connect()`` takes
only ``postgresql://`` URLs and passes ``options`` (the search path) to the server."""
DATABASE_KINDS = frozenset(DATABASE_URL_KEYS)

HTTP_PORT_NAME = "http"
DEFAULT_STORAGE = "1Gi"
_SUPERSET_START = """set -e
superset db upgrade
superset fab create-admin --username "$ADMIN_USERNAME" --password "$ADMIN_PASSWORD" \\
  --firstname Student --lastname Admin --email "$ADMIN_EMAIL" || true
superset init
if [ -n "$DATABASE_URL" ]; then
  superset set-database-uri -d student -u "$DATABASE_URL"
fi
exec /usr/bin/run-server.sh
"""


@dataclass(frozen=True)
class ToolSpec:
    """One entry of a track's ``tools``."""

    name: str
    kind: str
    image: str
    storage: str = DEFAULT_STORAGE
    display_name: str = ""
    resources: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class KindProfile:
    """What is fixed for a tool kind: where it listens, its health path, its data and user."""

    port: int
    health_path: str
    data_path: str
    user_id: int
    group_id: int
    default_resources: Mapping[str, Mapping[str, str]]
    websockets: bool = False


PROFILES: dict[str, KindProfile] = {
    "jupyterlab": KindProfile(
        port=8888,
        health_path="/api",
        data_path="/home/jovyan/work",
        user_id=1000,
        group_id=100,
        default_resources={
            "requests": {"cpu": "250m", "memory": "512Mi"},
            "limits": {"cpu": "1", "memory": "2Gi"},
        },
        websockets=True,
    ),
    "superset": KindProfile(
        port=8088,
        health_path="/health",
        data_path="/app/superset_home",
        user_id=1000,
        group_id=1000,
        default_resources={
            "requests": {"cpu": "250m", "memory": "512Mi"},
            "limits": {"cpu": "1", "memory": "2Gi"},
        },
    ),
    "prefect": KindProfile(
        port=4200,
        health_path="/api/health",
        data_path="/data",
        user_id=1000,
        group_id=1000,
        default_resources={
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"cpu": "500m", "memory": "1Gi"},
        },
        websockets=True,
    ),
    "codeserver": KindProfile(
        port=8080,
        health_path="/healthz",
        data_path="/home/coder",
        user_id=1000,
        group_id=1000,
        default_resources={
            "requests": {"cpu": "250m", "memory": "512Mi"},
            "limits": {"cpu": "1", "memory": "2Gi"},
        },
        websockets=True,
    ),
}


def track_tools(ctx: RenderContext) -> list[ToolSpec]:
    """The track's tools; :class:`InvalidInput` for an unknown kind or a missing image."""
    tools = []
    for entry in ctx.track.get("tools") or []:
        name, kind = entry.get("name", ""), entry.get("kind", "")
        if kind not in PROFILES:
            raise InvalidInput(
                "UnknownToolKind",
                f"tool {name!r} of track {ctx.track_name} has unknown kind {kind!r}",
            )
        if not entry.get("image"):
            raise InvalidInput(
                "ImageMissing", f"tool {name!r} of track {ctx.track_name} has no image"
            )
        tools.append(
            ToolSpec(
                name=name,
                kind=kind,
                image=entry["image"],
                storage=entry.get("storage") or DEFAULT_STORAGE,
                display_name=entry.get("displayName") or name,
                resources=entry.get("resources") or {},
            )
        )
    return tools


def tool_host(ctx: RenderContext, tool: ToolSpec) -> str:
    """The tool's ingress host; :class:`InvalidInput` when the template gives no valid name."""
    settings = ctx.settings
    try:
        return names.tool_host(
            settings.tool_host_template, tool.name, ctx.enrollment_name, settings.base_domain
        )
    except ValueError as error:
        raise InvalidInput("InvalidHost", str(error)) from error


def tool_url(ctx: RenderContext, tool: ToolSpec) -> str:
    """The URL students open: ``TOOL_URL_SCHEME://host[:TOOL_URL_PORT]`` (the port only for a
    proxy on another port than the scheme's, such as ``make run`` with ``LOCAL_TOOLS=1``)."""
    port = ctx.settings.tool_url_port
    suffix = f":{port}" if port else ""
    return f"{ctx.settings.tool_url_scheme}://{tool_host(ctx, tool)}{suffix}"


def data_claim_name(tool: str) -> str:
    return f"{tool}-data"


def persistent_volume_claim(ctx: RenderContext, tool: ToolSpec) -> dict[str, Any]:
    """The tool's state (notebooks, dashboards, flows, workspace); survives suspension."""
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": tool.storage}},
    }
    if ctx.settings.storage_class:
        spec["storageClassName"] = ctx.settings.storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": ctx.metadata(data_claim_name(tool.name), tool.name),
        "spec": spec,
    }


def _secret_env(name: str, secret: str, key: str, optional: bool = False) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": secret, "key": key}
    if optional:
        ref["optional"] = True
    return {"name": name, "valueFrom": {"secretKeyRef": ref}}


def credentials_digest(data: Mapping[str, str] | None) -> str:
    """``sha256:<hex>`` of a Secret's decoded data (key order does not matter), or ``absent``.

    Only the digest ever reaches an object: it changes whenever any value changes, and reveals
    nothing about the values (the password alone carries 256 random bits).
    """
    if data is None:
        return CREDENTIALS_ABSENT
    canonical = json.dumps(dict(data), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def reads_database(ctx: RenderContext, tool: ToolSpec) -> bool:
    """Whether the tool's container reads the ``student-database`` Secret."""
    return bool(ctx.track.get("database")) and tool.kind in DATABASE_KINDS


def _database_env(ctx: RenderContext, tool: ToolSpec) -> list[dict[str, Any]]:
    if not reads_database(ctx, tool):
        return []
    key = DATABASE_URL_KEYS[tool.kind]
    return [_secret_env("DATABASE_URL", DATABASE_SECRET, key, optional=True)]


def _container_config(ctx: RenderContext, tool: ToolSpec) -> dict[str, Any]:
    """Command, args and environment of the tool's container, per its documentation."""
    secret = credentials_secret_name(tool.name)
    profile = PROFILES[tool.kind]
    if tool.kind == "jupyterlab":
        return {
            "args": [
                "start-notebook.py",
                "--ServerApp.base_url=/",
                f"--ServerApp.port={profile.port}",
                "--ServerApp.ip=0.0.0.0",
                "--ServerApp.allow_remote_access=True",
                "--ServerApp.trust_xheaders=True",
                f"--ServerApp.root_dir={profile.data_path}",
            ],
            "env": [_secret_env("JUPYTER_TOKEN", secret, "token"), *_database_env(ctx, tool)],
        }
    if tool.kind == "superset":
        return {
            "command": ["/bin/sh", "-c", _SUPERSET_START],
            "env": [
                _secret_env("SUPERSET_SECRET_KEY", secret, "secret-key"),
                _secret_env("ADMIN_USERNAME", secret, "admin-username"),
                _secret_env("ADMIN_PASSWORD", secret, "admin-password"),
                {"name": "ADMIN_EMAIL", "value": ctx.email},
                {"name": "SUPERSET_HOME", "value": profile.data_path},
                {"name": "SUPERSET_PORT", "value": str(profile.port)},
                *_database_env(ctx, tool),
            ],
        }
    if tool.kind == "prefect":
        url = tool_url(ctx, tool)
        return {
            "command": ["prefect", "server", "start"],
            "args": ["--host", "0.0.0.0", "--port", str(profile.port)],
            "env": [
                _secret_env("PREFECT_SERVER_API_AUTH_STRING", secret, "auth-string"),
                _secret_env("PREFECT_API_AUTH_STRING", secret, "auth-string"),
                {"name": "PREFECT_UI_URL", "value": url},
                {"name": "PREFECT_UI_API_URL", "value": f"{url}/api"},
                {"name": "PREFECT_API_URL", "value": f"http://127.0.0.1:{profile.port}/api"},
                {"name": "PREFECT_HOME", "value": f"{profile.data_path}/prefect"},
                {"name": "PREFECT_SERVER_ANALYTICS_ENABLED", "value": "false"},
                {"name": "PREFECT_UI_STATIC_DIRECTORY", "value": f"{profile.data_path}/ui"},
                {"name": "HOME", "value": profile.data_path},
                *_database_env(ctx, tool),
            ],
        }
    project = f"{profile.data_path}/project"
    return {
        # code-server opens the last path of its arguments as the workspace folder but never
        # creates it, and a fresh volume has none: the workbench would open a missing folder.
        "command": [
            "/bin/sh",
            "-c",
            f'mkdir -p {project} && exec /usr/bin/entrypoint.sh "$@"',
            "entrypoint.sh",
        ],
        "args": [
            "--bind-addr",
            f"0.0.0.0:{profile.port}",
            "--auth",
            "password",
            "--disable-telemetry",
            project,
        ],
        "env": [_secret_env("PASSWORD", secret, "password")],
    }


def _resources(tool: ToolSpec) -> dict[str, dict[str, str]]:
    defaults = PROFILES[tool.kind].default_resources
    return {
        part: {**defaults.get(part, {}), **(tool.resources.get(part) or {})}
        for part in ("requests", "limits")
    }


def _probe(profile: KindProfile, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": profile.health_path, "port": HTTP_PORT_NAME},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def deployment(ctx: RenderContext, tool: ToolSpec) -> dict[str, Any]:
    """One replica (zero when suspended), non-root, probes on the tool's real health path."""
    profile = PROFILES[tool.kind]
    container = {
        "name": tool.name,
        "image": tool.image,
        **_container_config(ctx, tool),
        "ports": [{"name": HTTP_PORT_NAME, "containerPort": profile.port, "protocol": "TCP"}],
        "resources": _resources(tool),
        "startupProbe": _probe(profile, period=10, failures=60),
        "readinessProbe": _probe(profile, period=10, failures=3),
        "livenessProbe": _probe(profile, period=20, failures=3),
        "volumeMounts": [{"name": "data", "mountPath": profile.data_path}],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    pod_metadata: dict[str, Any] = {
        "labels": labels.tool_labels(ctx.enrollment_name, ctx.track_name, tool.name)
    }
    if reads_database(ctx, tool):
        pod_metadata["annotations"] = {DATABASE_CREDENTIALS_ANNOTATION: ctx.database_credentials}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": ctx.metadata(tool.name, tool.name),
        "spec": {
            "replicas": 0 if ctx.suspended else 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": labels.tool_selector(ctx.enrollment_name, tool.name)},
            "template": {
                "metadata": pod_metadata,
                "spec": {
                    "serviceAccountName": SERVICE_ACCOUNT,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": profile.user_id,
                        "runAsGroup": profile.group_id,
                        "fsGroup": profile.group_id,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [
                        {
                            "name": "data",
                            "persistentVolumeClaim": {"claimName": data_claim_name(tool.name)},
                        }
                    ],
                },
            },
        },
    }


def service(ctx: RenderContext, tool: ToolSpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": ctx.metadata(tool.name, tool.name),
        "spec": {
            "type": "ClusterIP",
            "selector": labels.tool_selector(ctx.enrollment_name, tool.name),
            "ports": [
                {
                    "name": HTTP_PORT_NAME,
                    "port": 80,
                    "targetPort": HTTP_PORT_NAME,
                    "protocol": "TCP",
                }
            ],
        },
    }


def ingress_annotations(ctx: RenderContext, tool: ToolSpec) -> dict[str, str]:
    """Settings' extra annotations, long timeouts for websocket tools, and forward-auth."""
    settings = ctx.settings
    annotations = dict(settings.ingress_annotations)
    if PROFILES[tool.kind].websockets:
        annotations.setdefault("nginx.ingress.kubernetes.io/proxy-read-timeout", "3600")
        annotations.setdefault("nginx.ingress.kubernetes.io/proxy-send-timeout", "3600")
    if settings.tool_auth_url:
        annotations["nginx.ingress.kubernetes.io/auth-url"] = settings.tool_auth_url
        annotations["nginx.ingress.kubernetes.io/auth-response-headers"] = (
            "X-Auth-Request-User,X-Auth-Request-Email"
        )
    if settings.tool_auth_signin_url:
        annotations["nginx.ingress.kubernetes.io/auth-signin"] = settings.tool_auth_signin_url
    return annotations


def ingress(ctx: RenderContext, tool: ToolSpec) -> dict[str, Any]:
    host = tool_host(ctx, tool)
    spec: dict[str, Any] = {
        "rules": [
            {
                "host": host,
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {
                                "service": {"name": tool.name, "port": {"name": HTTP_PORT_NAME}}
                            },
                        }
                    ]
                },
            }
        ]
    }
    if ctx.settings.ingress_class:
        spec["ingressClassName"] = ctx.settings.ingress_class
    if ctx.settings.ingress_tls_secret:
        spec["tls"] = [{"hosts": [host], "secretName": ctx.settings.ingress_tls_secret}]
    metadata = ctx.metadata(tool.name, tool.name)
    annotations = ingress_annotations(ctx, tool)
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata,
        "spec": spec,
    }


def tool_objects(ctx: RenderContext, tool: ToolSpec) -> list[dict[str, Any]]:
    """Every object of one tool except its credentials Secret, in creation order."""
    return [
        persistent_volume_claim(ctx, tool),
        deployment(ctx, tool),
        service(ctx, tool),
        ingress(ctx, tool),
    ]

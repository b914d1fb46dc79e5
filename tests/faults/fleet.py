"""A fleet of enrollments for fault scenarios: a light database track, creation in bulk, and
the counts of what exists (namespaces, Secrets, roles, schemas) for one test run's label."""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from apranova_contract import names
from tests.e2e.test_database_adapter import Server
from tests.support.operator_process import (
    GROUP,
    PLURAL,
    VERSION,
    OperatorProcess,
    enrollment_body,
    start_operator,
)

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_SECRETS = {"code-credentials", "student-database"}
EXPECTED_PER_KIND = {"Deployment": 1, "Service": 1, "Ingress": 1, "PersistentVolumeClaim": 1}


def light_track(name: str) -> dict[str, Any]:
    """FSD's code-server alone, with a student database and no integrations: every step of the
    operator runs, and each enrollment costs the shared machine little."""
    track = yaml.safe_load((ROOT / "manifests" / "tracks" / "fsd.yaml").read_text())
    track["metadata"] = {"name": name}
    track["spec"]["database"] = True
    track["spec"]["integrations"] = {"discord": False, "github": False}
    return track


def create_all(
    objects: client.CustomObjectsApi, usernames: Iterable[str], track: str, labels: dict[str, str]
) -> None:
    def create(username: str) -> None:
        body = enrollment_body(username, track, labels)
        objects.create_cluster_custom_object(GROUP, VERSION, PLURAL, body)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create, usernames))


def delete_all(objects: client.CustomObjectsApi, usernames: Iterable[str]) -> None:
    def delete(username: str) -> None:
        try:
            objects.delete_cluster_custom_object(GROUP, VERSION, PLURAL, username)
        except ApiException as error:
            if error.status != 404:
                raise

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(delete, usernames))


def enrollments(objects: client.CustomObjectsApi, selector: str) -> dict[str, dict[str, Any]]:
    listing = objects.list_cluster_custom_object(GROUP, VERSION, PLURAL, label_selector=selector)
    return {item["metadata"]["name"]: item for item in listing["items"]}


def phases(objects: client.CustomObjectsApi, selector: str) -> Counter[str]:
    return Counter(
        (item.get("status") or {}).get("phase", "")
        for item in enrollments(objects, selector).values()
    )


def secrets_by_enrollment(
    core: client.CoreV1Api, selector: str
) -> dict[str, dict[str, dict[str, str]]]:
    """``{enrollment: {secret name: decoded data}}`` of every labelled Secret."""
    found: dict[str, dict[str, dict[str, str]]] = {}
    for secret in core.list_secret_for_all_namespaces(label_selector=selector).items:
        owner = (secret.metadata.labels or {}).get("apranova.io/enrollment", "")
        data = {key: base64.b64decode(value).decode() for key, value in (secret.data or {}).items()}
        found.setdefault(owner, {})[secret.metadata.name] = data
    return found


def remember_credentials(
    seen: dict[tuple[str, str], dict[str, str]], current: dict[str, dict[str, dict[str, str]]]
) -> None:
    """Keep the first version of every Secret ever observed."""
    for owner, secrets in current.items():
        for name, data in secrets.items():
            seen.setdefault((owner, name), data)


def rotated(
    seen: dict[tuple[str, str], dict[str, str]], current: dict[str, dict[str, dict[str, str]]]
) -> list[tuple[str, str]]:
    """Secrets whose data differs from the first version observed (or that vanished)."""
    return [key for key, data in seen.items() if current.get(key[0], {}).get(key[1]) != data]


def labelled_namespaces(core: client.CoreV1Api, selector: str) -> list[str]:
    return [ns.metadata.name for ns in core.list_namespace(label_selector=selector).items]


def duplicates(
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    networking: client.NetworkingV1Api,
    selector: str,
) -> int:
    """Objects beyond one of each per enrollment (tool objects) and beyond the expected Secrets."""
    listings: dict[str, Callable[..., Any]] = {
        "Deployment": apps.list_deployment_for_all_namespaces,
        "Service": core.list_service_for_all_namespaces,
        "Ingress": networking.list_ingress_for_all_namespaces,
        "PersistentVolumeClaim": core.list_persistent_volume_claim_for_all_namespaces,
    }
    extra = 0
    for kind, listing in listings.items():
        per_namespace = Counter(
            item.metadata.namespace for item in listing(label_selector=selector).items
        )
        extra += sum(max(0, count - EXPECTED_PER_KIND[kind]) for count in per_namespace.values())
    for secrets in secrets_by_enrollment(core, selector).values():
        extra += len(set(secrets) - EXPECTED_SECRETS)
    return extra


def database_leftovers(database: Server, usernames: Iterable[str]) -> tuple[int, int]:
    """How many of these students still have a role, and a schema."""
    roles = [names.role_name(username) for username in usernames]
    role_count = database.one("SELECT count(*) FROM pg_roles WHERE rolname = ANY(%s)", roles)[0]
    schema_count = database.one("SELECT count(*) FROM pg_namespace WHERE nspname = ANY(%s)", roles)[
        0
    ]
    return int(role_count), int(schema_count)


def start_fault_operator(
    kubeconfig: str, selector: str, database: Server, log_path: Path
) -> OperatorProcess:
    """The operator for one scenario: only its enrollments, short retries."""
    return start_operator(
        kubeconfig,
        {
            "ENROLLMENT_SELECTOR": selector,
            "STUDENT_DB_ADMIN_URL": database.admin_url,
            "RETRY_BASE_SECONDS": "1",
            "RETRY_MAX_SECONDS": "10",
        },
        log_path,
    )


def leftovers(
    objects: client.CustomObjectsApi,
    core: client.CoreV1Api,
    database: Server,
    selector: str,
    usernames: Iterable[str],
) -> dict[str, int]:
    """What is left of a deleted fleet: enrollments, namespaces, Secrets, roles, schemas."""
    roles, schemas = database_leftovers(database, usernames)
    return {
        "enrollments_left": len(enrollments(objects, selector)),
        "namespaces_left": len(labelled_namespaces(core, selector)),
        "secrets_left": sum(len(found) for found in secrets_by_enrollment(core, selector).values()),
        "roles_left": roles,
        "schemas_left": schemas,
    }

"""The API's thin Kubernetes adapter: Tracks and StudentEnrollments, nothing else.

Configuration comes from ``KUBECONFIG`` (or ``~/.kube/config``), else the in-cluster service
account. Every call is blocking: callers run in a worker thread. "Cannot reach the cluster" is
always :class:`KubeUnavailableError` (temporary: network, timeouts, 5xx, 429), so callers can
answer 5xx/202 and retry; a write the cluster refuses for good (400 bad request, 403 forbidden,
404 no such resource type, 422 validation) is :class:`KubeRejectedError`, which no retry mends.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Protocol

import urllib3
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.config.config_exception import ConfigException

from apranova_contract.labels import ENROLLMENT_PLURAL, GROUP, TRACK_PLURAL, VERSION

REQUEST_TIMEOUT_SECONDS = 10


PERMANENT_WRITE_STATUSES = frozenset({400, 403, 404, 422})


class KubeUnavailableError(RuntimeError):
    """The cluster could not be reached or refused the request unexpectedly."""


class KubeRejectedError(RuntimeError):
    """The cluster refused a write for good (``status``: 400, 403, 404 or 422); the message is
    the API server's own (for a 422, which field broke which rule)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def rejection_message(error: ApiException) -> str:
    """The API server's ``Status.message`` of a refused request, else its reason (pure)."""
    try:
        body = json.loads(error.body or "{}")
    except (TypeError, ValueError):
        body = {}
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or error.reason or error.status)


class Cluster(Protocol):
    """Every cluster call the API makes (:class:`KubeCluster`, or a test double)."""

    def get_track(self, name: str) -> dict[str, Any] | None: ...
    def list_tracks(self) -> list[dict[str, Any]]: ...
    def get_enrollment(self, name: str) -> dict[str, Any] | None: ...
    def create_enrollment(self, body: dict[str, Any]) -> bool: ...
    def patch_enrollment_spec(self, name: str, spec: dict[str, Any]) -> None: ...
    def list_enrollment_names(self) -> set[str]: ...
    def list_enrollment_suspensions(self) -> dict[str, bool]: ...
    def get_namespace_labels(self, name: str) -> dict[str, str] | None: ...
    def delete_enrollment(self, name: str) -> bool: ...


class KubeCluster:
    """Reads Tracks; creates, reads and patches StudentEnrollments."""

    def __init__(self, kubeconfig: str | None = None) -> None:
        self._kubeconfig = kubeconfig
        self._api: client.CustomObjectsApi | None = None
        self._lock = threading.Lock()

    def _objects(self) -> client.CustomObjectsApi:
        with self._lock:
            if self._api is None:
                try:
                    api_client = config.new_client_from_config(config_file=self._kubeconfig)
                except (ConfigException, OSError, TypeError) as kube_error:
                    try:
                        config.load_incluster_config()
                    except ConfigException as error:
                        raise KubeUnavailableError(
                            f"no Kubernetes configuration: {kube_error}; {error}"
                        ) from error
                    api_client = client.ApiClient()
                self._api = client.CustomObjectsApi(api_client)
            return self._api

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self._objects(), method)(
                *args, _request_timeout=REQUEST_TIMEOUT_SECONDS, **kwargs
            )
        except ApiException as error:
            if error.status in (409, *PERMANENT_WRITE_STATUSES):
                raise
            raise KubeUnavailableError(f"{method}: {error.status} {error.reason}") from error
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise KubeUnavailableError(f"{method}: {error}") from error

    def get_track(self, name: str) -> dict[str, Any] | None:
        """The ``Track`` called ``name``, or ``None``."""
        try:
            return self._call("get_cluster_custom_object", GROUP, VERSION, TRACK_PLURAL, name)
        except ApiException as error:
            if error.status == 404:
                return None
            raise KubeUnavailableError(f"get track {name}: {error.reason}") from error

    def list_tracks(self) -> list[dict[str, Any]]:
        """Every ``Track`` resource (the /get-started page shows them all)."""
        try:
            listing = self._call("list_cluster_custom_object", GROUP, VERSION, TRACK_PLURAL)
        except ApiException as error:
            raise KubeUnavailableError(f"list tracks: {error.reason}") from error
        return list(listing.get("items", []))

    def get_enrollment(self, name: str) -> dict[str, Any] | None:
        """The ``StudentEnrollment`` called ``name``, or ``None``."""
        try:
            return self._call("get_cluster_custom_object", GROUP, VERSION, ENROLLMENT_PLURAL, name)
        except ApiException as error:
            if error.status == 404:
                return None
            raise KubeUnavailableError(f"get enrollment {name}: {error.reason}") from error

    def create_enrollment(self, body: dict[str, Any]) -> bool:
        """Create an enrollment; ``False`` when it already exists (which is success)."""
        try:
            self._call("create_cluster_custom_object", GROUP, VERSION, ENROLLMENT_PLURAL, body)
        except ApiException as error:
            if error.status == 409:
                return False
            name = body["metadata"]["name"]
            if error.status in PERMANENT_WRITE_STATUSES:
                raise KubeRejectedError(
                    f"create enrollment {name}: {error.status} {rejection_message(error)}",
                    error.status,
                ) from error
            raise KubeUnavailableError(
                f"create enrollment {name}: {error.status} {error.body}"
            ) from error
        return True

    def patch_enrollment_spec(self, name: str, spec: dict[str, Any]) -> None:
        """Merge ``spec`` into the enrollment's spec."""
        try:
            self._call(
                "patch_cluster_custom_object",
                GROUP,
                VERSION,
                ENROLLMENT_PLURAL,
                name,
                {"spec": spec},
            )
        except ApiException as error:
            if error.status in PERMANENT_WRITE_STATUSES:
                raise KubeRejectedError(
                    f"patch enrollment {name}: {error.status} {rejection_message(error)}",
                    error.status,
                ) from error
            raise KubeUnavailableError(
                f"patch enrollment {name}: {error.status} {error.body}"
            ) from error

    def list_enrollment_names(self) -> set[str]:
        """The names of every enrollment in the cluster."""
        try:
            listing = self._call("list_cluster_custom_object", GROUP, VERSION, ENROLLMENT_PLURAL)
        except ApiException as error:
            raise KubeUnavailableError(f"list enrollments: {error.reason}") from error
        return {item["metadata"]["name"] for item in listing.get("items", [])}

    def list_enrollment_suspensions(self) -> dict[str, bool]:
        """Every enrollment's name and its ``spec.suspended``."""
        try:
            listing = self._call("list_cluster_custom_object", GROUP, VERSION, ENROLLMENT_PLURAL)
        except ApiException as error:
            raise KubeUnavailableError(f"list enrollments: {error.reason}") from error
        return {
            item["metadata"]["name"]: bool((item.get("spec") or {}).get("suspended"))
            for item in listing.get("items", [])
        }

    def delete_enrollment(self, name: str) -> bool:
        """Delete an enrollment (the operator removes the environment); ``False`` when absent."""
        try:
            self._call("delete_cluster_custom_object", GROUP, VERSION, ENROLLMENT_PLURAL, name)
        except ApiException as error:
            if error.status == 404:
                return False
            raise KubeUnavailableError(f"delete enrollment {name}: {error.reason}") from error
        return True

    def get_namespace_labels(self, name: str) -> dict[str, str] | None:
        """The labels of namespace ``name`` (``{}`` when it has none), ``None`` when absent."""
        try:
            namespace = client.CoreV1Api(self._objects().api_client).read_namespace(
                name, _request_timeout=REQUEST_TIMEOUT_SECONDS
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise KubeUnavailableError(f"get namespace {name}: {error.status}") from error
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise KubeUnavailableError(f"get namespace {name}: {error}") from error
        metadata = namespace.metadata
        return dict((metadata.labels if metadata else None) or {})

"""The latest body of each enrollment and track, as the watch streams and the operator's own
writes delivered it, so a reconcile or a status refresh starts without a GET.

Kopf already receives every version of these objects (its watches are needed anyway); keeping
the last one saves one GET of the enrollment per reconcile and per status refresh, and one GET
of its track per reconcile. A body kept here may be a little behind the API server (a write by
someone else whose event is still on its way): every write the operator bases on it carries the
body's ``resourceVersion`` as a precondition, so a stale body ends in ``409 Conflict`` and the
reconciler reads the object afresh (:meth:`WatchedBodies.forget`) instead of overwriting
anything. A miss (before the initial listing arrived) is a GET, as before. Only this operator
(one replica) writes an enrollment's status, and it keeps the answer of each of its writes here,
so the status kept is the status as written: "nothing changed, no write" is judged on the truth.

Bodies are kept as compact JSON without ``managedFields`` (about 1-2 KiB per enrollment), so
the memory held does not depend on how many dicts the watch event was made of.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def _resource_version(body: Mapping[str, Any]) -> str:
    return str((body.get("metadata") or {}).get("resourceVersion") or "")


def is_older(version: str, than: str) -> bool:
    """Whether ``version`` is known to be older than ``than``.

    Kubernetes documents ``resourceVersion`` as opaque; kube-apiserver backed by etcd serves
    etcd revisions (decimal integers). Only when both are such integers is an event known to
    be older (an event of an earlier write arriving after the answer of a later one); otherwise
    the newest arrival wins and the precondition on writes catches a stale body.
    """
    return version.isdigit() and than.isdigit() and int(version) < int(than)


class WatchedBodies:
    """Last known body per object name (one kind; cluster-scoped names)."""

    def __init__(self) -> None:
        self._bodies: dict[str, tuple[str, bytes]] = {}

    def __len__(self) -> int:
        return len(self._bodies)

    def put(self, body: Mapping[str, Any]) -> None:
        """Keep ``body`` (a plain dict or Kopf's body mapping) unless an newer one is known."""
        metadata = body.get("metadata") or {}
        name = metadata.get("name")
        version = _resource_version(body)
        if not name or not version:
            return
        known = self._bodies.get(name)
        if known is not None and is_older(version, known[0]):
            return
        plain = {key: value for key, value in body.items() if key != "metadata"}
        plain["metadata"] = {k: v for k, v in metadata.items() if k != "managedFields"}
        text = json.dumps(plain, separators=(",", ":"), default=dict)
        self._bodies[name] = (version, text.encode())

    def get(self, name: str) -> dict[str, Any] | None:
        """A fresh copy of the last known body, or None."""
        known = self._bodies.get(name)
        return json.loads(known[1]) if known is not None else None

    def forget(self, name: str) -> None:
        """Drop an object that is gone, or whose body turned out to be stale."""
        self._bodies.pop(name, None)

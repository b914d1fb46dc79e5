"""``apranova cluster up | down | status``: a real local Kubernetes control plane.

etcd, kube-apiserver (TLS, RBAC, service-account keys), kube-controller-manager, kube-scheduler
and kwok (standing in for kubelets on one fake node) run as local processes built from Go modules
by ``hack/build-control-plane.sh``. State lives under ``.local/``: certificates and kubeconfigs in
``.local/cluster/``, etcd data in ``.local/cluster/etcd``, logs in ``.local/logs/``, pid files in
``.local/run/``. The admin kubeconfig is ``.local/kubeconfig``.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml
from filelock import FileLock

from apranova.local import pki

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NODE_NAME = "kwok-node-0"
SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")


class ClusterError(RuntimeError):
    """A problem the user can act on; printed as a message, never as a stack trace."""


@dataclass(frozen=True)
class Ports:
    """Loopback ports of the components (configurable so two stacks can coexist)."""

    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int
    kwok: int

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Ports:
        env = dict(os.environ if env is None else env)
        apiserver = _port(env, "APRANOVA_APISERVER_PORT", 6443)
        return cls(
            etcd_client=_port(env, "APRANOVA_ETCD_PORT", 23790),
            etcd_peer=_port(env, "APRANOVA_ETCD_PEER_PORT", 23800),
            apiserver=apiserver,
            controller_manager=_port(env, "APRANOVA_CONTROLLER_MANAGER_PORT", 10357),
            scheduler=_port(env, "APRANOVA_SCHEDULER_PORT", 10359),
            kwok=_port(env, "APRANOVA_KWOK_PORT", 10347),
        )

    def owned_by(self, component: str) -> list[int]:
        return {
            "etcd": [self.etcd_client, self.etcd_peer],
            "kube-apiserver": [self.apiserver],
            "kube-controller-manager": [self.controller_manager],
            "kube-scheduler": [self.scheduler],
            "kwok": [self.kwok],
        }[component]


def _port(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ClusterError(f"{name}={raw!r} is not a port number (1-65535)")
    return int(raw)


@dataclass(frozen=True)
class Layout:
    """Where the local cluster keeps its files."""

    local: Path

    @classmethod
    def from_env(cls) -> Layout:
        return cls(Path(os.environ.get("APRANOVA_LOCAL_DIR", PROJECT_ROOT / ".local")))

    @property
    def state(self) -> Path:
        return self.local / "cluster"

    @property
    def pki(self) -> Path:
        return self.state / "pki"

    @property
    def etcd_data(self) -> Path:
        return self.state / "etcd"

    @property
    def logs(self) -> Path:
        return self.local / "logs"

    @property
    def run(self) -> Path:
        return self.local / "run"

    @property
    def kubeconfig(self) -> Path:
        return self.local / "kubeconfig"

    def component_kubeconfig(self, component: str) -> Path:
        return self.state / f"{component}.kubeconfig"

    def pid_file(self, component: str) -> Path:
        return self.run / f"{component}.pid"

    def log_file(self, component: str) -> Path:
        return self.logs / f"{component}.log"


def tools_dir() -> Path:
    """The cached build of the control plane (``bin/`` and ``kwok-stages/``), built if needed."""
    override = os.environ.get("APRANOVA_CONTROL_PLANE_DIR")
    if override:
        return Path(override)
    script = PROJECT_ROOT / "hack" / "build-control-plane.sh"
    path = Path(
        subprocess.run(
            [script, "--print-dir"], check=True, capture_output=True, text=True
        ).stdout.strip()
    )
    if not (path / ".complete").exists():
        subprocess.run([script], check=True)
    return path


def binary(name: str) -> Path:
    """The path of one control-plane binary (``kubectl``, ``helm``, ``etcd`` ...)."""
    path = tools_dir() / "bin" / name
    if not path.exists():
        raise ClusterError(f"binary {path} is missing; rebuild with hack/build-control-plane.sh")
    return path


def component_argv(component: str, layout: Layout, ports: Ports, tools: Path) -> list[str]:
    """The command line of one component (a pure function of the layout and ports)."""
    pki_dir = layout.pki
    bin_dir = tools / "bin"
    if component == "etcd":
        client = f"http://127.0.0.1:{ports.etcd_client}"
        peer = f"http://127.0.0.1:{ports.etcd_peer}"
        return [
            str(bin_dir / "etcd"),
            "--name=apranova",
            f"--data-dir={layout.etcd_data}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=apranova={peer}",
            "--unsafe-no-fsync=true",
            "--quota-backend-bytes=4294967296",
            "--log-level=warn",
        ]
    if component == "kube-apiserver":
        return [
            str(bin_dir / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{ports.etcd_client}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={ports.apiserver}",
            f"--tls-cert-file={pki_dir / 'apiserver.crt'}",
            f"--tls-private-key-file={pki_dir / 'apiserver.key'}",
            f"--client-ca-file={pki_dir / 'ca.crt'}",
            f"--service-account-key-file={pki_dir / 'sa.pub'}",
            f"--service-account-signing-key-file={pki_dir / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=RBAC",
            "--allow-privileged=true",
            "--profiling=false",
            "--enable-priority-and-fairness=false",
            "--endpoint-reconciler-type=none",
        ]
    if component == "kube-controller-manager":
        kubeconfig = layout.component_kubeconfig(component)
        return [
            str(bin_dir / "kube-controller-manager"),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={ports.controller_manager}",
            f"--service-account-private-key-file={pki_dir / 'sa.key'}",
            f"--root-ca-file={pki_dir / 'ca.crt'}",
            f"--cluster-signing-cert-file={pki_dir / 'ca.crt'}",
            f"--cluster-signing-key-file={pki_dir / 'ca.key'}",
            "--use-service-account-credentials=true",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--leader-elect=false",
            "--controllers=*,-nodeipam",
            "--enable-hostpath-provisioner=true",
            "--concurrent-namespace-syncs=4",
        ]
    if component == "kube-scheduler":
        kubeconfig = layout.component_kubeconfig(component)
        return [
            str(bin_dir / "kube-scheduler"),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={ports.scheduler}",
            "--leader-elect=false",
        ]
    if component == "kwok":
        return [
            str(bin_dir / "kwok"),
            f"--kubeconfig={layout.component_kubeconfig(component)}",
            f"--config={layout.state / 'kwok-stages.yaml'}",
            "--manage-all-nodes=false",
            "--manage-nodes-with-label-selector=type=kwok",
            "--node-lease-duration-seconds=40",
            f"--server-address=127.0.0.1:{ports.kwok}",
            "--cidr=10.244.0.0/16",
            "--node-ip=127.0.0.1",
        ]
    raise ValueError(f"unknown component {component!r}")


def kubeconfig_document(
    server: str, ca_pem: bytes, user: str, cert_pem: bytes, key_pem: bytes
) -> dict:
    """A kubeconfig with one cluster, one client-certificate user and one context."""

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "apranova-local",
                "cluster": {"server": server, "certificate-authority-data": b64(ca_pem)},
            }
        ],
        "users": [
            {
                "name": user,
                "user": {"client-certificate-data": b64(cert_pem), "client-key-data": b64(key_pem)},
            }
        ],
        "contexts": [
            {"name": "apranova-local", "context": {"cluster": "apranova-local", "user": user}}
        ],
        "current-context": "apranova-local",
    }


_CLIENTS = {
    # component: (common name, organization)
    "admin": ("apranova-admin", "system:masters"),
    "kube-controller-manager": ("system:kube-controller-manager", None),
    "kube-scheduler": ("system:kube-scheduler", None),
    "kwok": ("kwok", "system:masters"),
}


def ensure_pki(layout: Layout, ports: Ports) -> None:
    """Create certificates, keys and kubeconfigs once; later runs reuse them."""
    layout.pki.mkdir(parents=True, exist_ok=True)
    ca_crt, ca_key = layout.pki / "ca.crt", layout.pki / "ca.key"
    if not ca_crt.exists():
        ca = pki.make_ca()
        _write(ca_key, ca.key_pem, 0o600)
        _write(ca_crt, ca.cert_pem)
        serving = pki.issue_certificate(
            ca,
            "kube-apiserver",
            server=True,
            dns_names=(
                "localhost",
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            ),
            ip_addresses=("127.0.0.1", SERVICE_IP),
        )
        _write(layout.pki / "apiserver.key", serving.key_pem, 0o600)
        _write(layout.pki / "apiserver.crt", serving.cert_pem)
        sa = pki.make_service_account_keys()
        _write(layout.pki / "sa.key", sa.key_pem, 0o600)
        _write(layout.pki / "sa.pub", sa.cert_pem)
    ca = pki.KeyPair(ca_crt.read_bytes(), ca_key.read_bytes())
    server = f"https://127.0.0.1:{ports.apiserver}"
    for client, (common_name, org) in _CLIENTS.items():
        path = layout.kubeconfig if client == "admin" else layout.component_kubeconfig(client)
        if (
            path.exists()
            and yaml.safe_load(path.read_text())["clusters"][0]["cluster"]["server"] == server
        ):
            continue
        cert = pki.issue_certificate(ca, common_name, org)
        doc = kubeconfig_document(server, ca.cert_pem, client, cert.cert_pem, cert.key_pem)
        _write(path, yaml.safe_dump(doc).encode(), 0o600)


def kwok_stages_document(stages_dir: Path) -> str:
    """The kwok Stage objects that make the fake node Ready and pods Running/Ready/deleted."""
    wanted = [
        stages_dir / "node" / "fast" / "node-initialize.yaml",
        stages_dir / "node" / "heartbeat-with-lease" / "node-heartbeat-with-lease.yaml",
        *(
            stages_dir / "pod" / "general" / f"{name}.yaml"
            for name in (
                "pod-create",
                "pod-init-container-running",
                "pod-init-container-completed",
                "pod-ready",
                "pod-complete",
                "pod-delete",
            )
        ),
    ]
    missing = [str(p) for p in wanted if not p.exists()]
    if missing:
        raise ClusterError(f"kwok stage files are missing: {', '.join(missing)}")
    return "\n---\n".join(p.read_text().strip() for p in wanted) + "\n"


def fake_node() -> dict:
    """The Node kwok manages; no taints, so ordinary pods schedule onto it.

    Room for 5,000 pods: a 1,000-enrollment burst and its floor (``make bench``) run side by
    side with the test suites' enrollments on this one node.
    """
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": NODE_NAME,
            "labels": {
                "type": "kwok",
                "kubernetes.io/hostname": NODE_NAME,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
            },
            "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake"},
        },
        "status": {
            "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "5000"},
            "capacity": {"cpu": "64", "memory": "256Gi", "pods": "5000"},
        },
    }


def storage_class() -> dict:
    """The default StorageClass, served by kube-controller-manager's hostPath provisioner, so
    claims bind and their pods schedule (the scheduler never binds pods to unbound claims)."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": "local-hostpath",
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "kubernetes.io/host-path",
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
    }


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.chmod(mode)
    tmp.replace(path)


def _pid_alive(pid: int, exe: str) -> bool:
    """True when ``pid`` runs and is the binary we started (pids get reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.split(")")[-1].split()[0] == "Z":
            return False
    except FileNotFoundError:
        return False
    return Path(cmdline).name == Path(exe).name


def running_pid(layout: Layout, component: str) -> int | None:
    """The pid of a component we started that is still running, else ``None``."""
    pid_file = layout.pid_file(component)
    if not pid_file.exists():
        return None
    try:
        pid = int(pid_file.read_text().strip())
    except ValueError:
        return None
    return pid if _pid_alive(pid, component) else None


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _ssl_context(layout: Layout) -> ssl.SSLContext:
    doc = yaml.safe_load(layout.kubeconfig.read_text())
    ctx = ssl.create_default_context(
        cadata=base64.b64decode(
            doc["clusters"][0]["cluster"]["certificate-authority-data"]
        ).decode()
    )
    user = doc["users"][0]["user"]
    certs = layout.state / "admin-client.pem"
    if not certs.exists():
        _write(
            certs,
            base64.b64decode(user["client-certificate-data"])
            + base64.b64decode(user["client-key-data"]),
            0o600,
        )
    ctx.load_cert_chain(certs)
    return ctx


def api_get(layout: Layout, ports: Ports, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """GET a path of the local kube-apiserver as the admin; ``(0, b"")`` when unreachable."""
    url = f"https://127.0.0.1:{ports.apiserver}{path}"
    try:
        with urllib.request.urlopen(url, context=_ssl_context(layout), timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def readyz(layout: Layout, ports: Ports) -> bool:
    return api_get(layout, ports, "/readyz")[0] == 200


def _start(component: str, argv: list[str], layout: Layout) -> subprocess.Popen:
    layout.logs.mkdir(parents=True, exist_ok=True)
    layout.run.mkdir(parents=True, exist_ok=True)
    log = layout.log_file(component).open("ab")
    proc = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
    )
    log.close()
    layout.pid_file(component).write_text(str(proc.pid))
    return proc


def _wait(
    what: str,
    check,
    timeout: float,
    layout: Layout,
    component: str,
    proc: subprocess.Popen | None = None,
) -> None:
    """Wait for ``check``; fail early when the component's process exits.

    Liveness comes from our own child (``proc``) when we just started it: right after fork its
    /proc cmdline is still ours, so the pid-file check would misreport it as gone.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        exited = proc.poll() is not None if proc else running_pid(layout, component) is None
        if exited:
            tail = _tail(layout.log_file(component))
            raise ClusterError(
                f"{component} exited while waiting for {what}; its log "
                f"({layout.log_file(component)}) ends with:\n{tail}"
            )
        time.sleep(0.2)
    raise ClusterError(
        f"timed out after {timeout:.0f}s waiting for {what}; see {layout.log_file(component)}"
    )


def _tail(path: Path, lines: int = 15) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _kubectl(layout: Layout, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(binary("kubectl")), f"--kubeconfig={layout.kubeconfig}", *args],
        input=stdin,
        capture_output=True,
        text=True,
    )


def up(layout: Layout | None = None, ports: Ports | None = None, quiet: bool = False) -> Path:
    """Start every component not already running and wait for ``/readyz``; return the kubeconfig.

    Running ``up`` on a running cluster changes nothing.
    """
    layout = layout or Layout.from_env()
    ports = ports or Ports.from_env()
    with _lock(layout):
        return _up(layout, ports, quiet)


def _lock(layout: Layout) -> FileLock:
    """Serialises ``up`` and ``down`` across processes (tests, ``make run``, the CLI)."""
    layout.local.mkdir(parents=True, exist_ok=True)
    return FileLock(str(layout.local / "cluster.lock"))


def _up(layout: Layout, ports: Ports, quiet: bool) -> Path:
    started_at = time.monotonic()
    say = (lambda *_: None) if quiet else (lambda msg: print(msg, flush=True))
    missing = [c for c in COMPONENTS if running_pid(layout, c) is None]
    if not missing and layout.kubeconfig.exists() and readyz(layout, ports):
        say(f"cluster already running; KUBECONFIG={layout.kubeconfig}")
        return layout.kubeconfig
    tools = tools_dir()
    for component in COMPONENTS:
        exe = tools / "bin" / component
        if not exe.exists():
            raise ClusterError(f"binary {exe} is missing; run hack/build-control-plane.sh")
    for component in missing:
        for port in ports.owned_by(component):
            if _port_taken(port):
                raise ClusterError(
                    f"port {port} needed by {component} is already in use by another program; "
                    f"stop it or choose another port (see APRANOVA_*_PORT in the README)"
                )
    ensure_pki(layout, ports)
    link_client_tools(layout, tools)
    _write(layout.state / "kwok-stages.yaml", kwok_stages_document(tools / "kwok-stages").encode())
    started: dict[str, subprocess.Popen] = {}
    for component in COMPONENTS:
        if component not in missing:
            continue
        say(f"starting {component} (log: {layout.log_file(component)})")
        started[component] = _start(
            component, component_argv(component, layout, ports, tools), layout
        )
        proc = started[component]
        if component == "etcd":
            _wait(
                "etcd",
                lambda: _http_ok(f"http://127.0.0.1:{ports.etcd_client}/health"),
                60,
                layout,
                component,
                proc,
            )
        elif component == "kube-apiserver":
            ready = lambda: readyz(layout, ports)  # noqa: E731
            _wait("kube-apiserver /readyz", ready, 120, layout, component, proc)
            result = _kubectl(layout, "apply", "-f", "-", stdin=yaml.safe_dump(fake_node()))
            if result.returncode != 0:
                raise ClusterError(f"could not create the fake node: {result.stderr.strip()}")
            result = _kubectl(layout, "apply", "-f", "-", stdin=yaml.safe_dump(storage_class()))
            if result.returncode != 0:
                raise ClusterError(f"could not create the storage class: {result.stderr.strip()}")
        elif component in ("kube-controller-manager", "kube-scheduler"):
            port = ports.owned_by(component)[0]
            _wait(
                f"{component} /healthz",
                lambda p=port: _https_healthz(p),
                60,
                layout,
                component,
                proc,
            )
    _wait(
        "the fake node to be Ready",
        lambda: _node_ready(layout),
        60,
        layout,
        "kwok",
        started.get("kwok"),
    )
    say(
        f"cluster ready in {time.monotonic() - started_at:.1f}s; try:\n"
        f"  export KUBECONFIG={layout.kubeconfig} PATH={layout.local / 'bin'}:$PATH\n"
        f"  kubectl get nodes"
    )
    return layout.kubeconfig


def link_client_tools(layout: Layout, tools: Path) -> None:
    """Links ``kubectl`` and ``helm`` of the cached build into ``.local/bin``."""
    bin_dir = layout.local / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in ("kubectl", "helm"):
        link = bin_dir / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(tools / "bin" / name)


def _https_healthz(port: int) -> bool:
    """``/healthz`` of a component serving a self-signed certificate on ``port``."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(
            f"https://127.0.0.1:{port}/healthz", context=context, timeout=2
        ) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _node_ready(layout: Layout) -> bool:
    result = _kubectl(
        layout,
        "get",
        "node",
        NODE_NAME,
        "-o",
        "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
    )
    return result.returncode == 0 and result.stdout.strip() == "True"


def down(layout: Layout | None = None, purge: bool = False, quiet: bool = False) -> None:
    """Stop exactly the processes ``up`` started (by pid file); ``purge`` also wipes the data."""
    layout = layout or Layout.from_env()
    say = (lambda *_: None) if quiet else (lambda msg: print(msg, flush=True))
    with _lock(layout):
        _down(layout, purge, say)


def _down(layout: Layout, purge: bool, say) -> None:
    for component in reversed(COMPONENTS):
        pid = running_pid(layout, component)
        if pid is not None:
            say(f"stopping {component} (pid {pid})")
            _terminate(pid, component)
        layout.pid_file(component).unlink(missing_ok=True)
    if purge:
        shutil.rmtree(layout.state, ignore_errors=True)
        layout.kubeconfig.unlink(missing_ok=True)
        say("cluster data removed")


def _terminate(pid: int, component: str, grace: float = 15.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _pid_alive(pid, component):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def status(layout: Layout | None = None, ports: Ports | None = None) -> bool:
    """Print each component's state and /readyz; True when everything is up."""
    layout = layout or Layout.from_env()
    ports = ports or Ports.from_env()
    healthy = True
    for component in COMPONENTS:
        pid = running_pid(layout, component)
        healthy &= pid is not None
        state = f"running (pid {pid})" if pid else "stopped"
        print(f"{component:<24} {state}")
    ready = layout.kubeconfig.exists() and readyz(layout, ports)
    print(f"{'/readyz':<24} {'ok' if ready else 'not ready'}")
    print(f"{'kubeconfig':<24} {layout.kubeconfig}")
    return healthy and ready


def main(args: argparse.Namespace) -> int:
    """``apranova cluster ...``: errors are messages with exit status 1, not stack traces."""
    try:
        if args.action == "up":
            up()
            return 0
        if args.action == "down":
            down(purge=args.purge)
            return 0
        return 0 if status() else 3
    except ClusterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as err:
        print(f"error: building the control plane failed ({err})", file=sys.stderr)
        return 1

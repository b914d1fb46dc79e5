"""``make run``: the whole system on this machine, stopped cleanly with Ctrl-C.

Starts (or reuses) the local control plane, a PostgreSQL server for the API and the student
schemas, applies the CRDs and default tracks, runs a mail catcher so welcome emails can be read
offline, then the operator and the API. If ``KUBECONFIG`` points at a reachable cluster, that
cluster is used instead of starting one. Everything it started is stopped on Ctrl-C; data stays
under ``.local/`` so the next run starts in seconds.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from filelock import FileLock, Timeout

from apranova.local import cluster
from apranova.local.postgres import LocalPostgres
from apranova.local.tools.local_tools import SIMULATED_NOTICE, LocalTools, LocalToolsSettings

PROJECT_ROOT = cluster.PROJECT_ROOT


@dataclass
class MailCatcher:
    """Keeps every message in ``.local/mail/`` and prints its links, so mail works offline."""

    folder: Path
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.count += 1
            path = self.folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{self.count}.eml"
        path.write_bytes(envelope.content)
        body = message.get_body(preferencelist=("plain", "html"))
        text = body.get_content() if body else ""
        links = sorted(set(re.findall(r"https?://[^\s\"'<>]+", text)))
        print(f"\n[mail] to {', '.join(envelope.rcpt_tos)}: {message['subject']} ({path})")
        for link in links:
            print(f"[mail]   {link}")
        return "250 Message accepted for delivery"


def _env_port(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise cluster.ClusterError(f"{name}={raw!r} is not a port number (1-65535)")
    return int(raw)


def _reachable(kubeconfig: str) -> bool:
    result = subprocess.run(
        [
            str(cluster.binary("kubectl")),
            f"--kubeconfig={kubeconfig}",
            "get",
            "--raw=/readyz",
            "--request-timeout=5s",
        ],
        capture_output=True,
        text=True,
    )
    return result.returncode == 0


def _apply(kubeconfig: str, paths: list[Path]) -> None:
    for path in paths:
        subprocess.run(
            [
                str(cluster.binary("kubectl")),
                f"--kubeconfig={kubeconfig}",
                "apply",
                "--server-side",
                "--force-conflicts",
                "--field-manager=apranova-local",
                "-f",
                str(path),
            ],
            check=True,
            capture_output=True,
            text=True,
        )


def _persisted_secret(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def _start_process(name: str, argv: list[str], env: dict[str, str], logs: Path) -> subprocess.Popen:
    log = (logs / f"{name}.log").open("ab")
    proc = subprocess.Popen(
        argv,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()
    return proc


def _stop_process(proc: subprocess.Popen, grace: float = 15) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait_http(url: str, proc: subprocess.Popen, name: str, log: Path, timeout: float) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
            raise SystemExit(f"error: the {name} exited; {log} ends with:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise SystemExit(f"error: the {name} did not answer {url} within {timeout:.0f}s; see {log}")


def operator_environment(
    base: dict[str, str], student_db_url: str, health_port: int, metrics_port: int
) -> dict[str, str]:
    """The operator's environment under ``make run``: health and metrics on loopback only."""
    return {
        **base,
        "STUDENT_DB_ADMIN_URL": student_db_url,
        "OPERATOR_HEALTH_HOST": "127.0.0.1",
        "OPERATOR_HEALTH_PORT": str(health_port),
        "OPERATOR_METRICS_PORT": str(metrics_port),
    }


@dataclass(frozen=True)
class StackPorts:
    """The loopback ports of ``make run`` (environment variables, see README.md)."""

    api: int
    postgres: int
    smtp: int
    operator_health: int
    operator_metrics: int

    @classmethod
    def from_env(cls) -> StackPorts:
        """Read and check them; :class:`cluster.ClusterError` names a bad variable."""
        cluster.Ports.from_env()
        return cls(
            api=_env_port("API_PORT", 8000),
            postgres=_env_port("APRANOVA_POSTGRES_PORT", 55432),
            smtp=_env_port("APRANOVA_SMTP_PORT", 1025),
            operator_health=_env_port("APRANOVA_OPERATOR_HEALTH_PORT", 8081),
            operator_metrics=_env_port("APRANOVA_OPERATOR_METRICS_PORT", 9091),
        )


def main() -> int:
    """Run everything until Ctrl-C; exit 2 with one line for a bad port variable, 1 with one
    line when another ``make run`` holds this local directory's stack lock."""
    layout = cluster.Layout.from_env()
    try:
        ports = StackPorts.from_env()
    except cluster.ClusterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    layout.local.mkdir(parents=True, exist_ok=True)
    lock = FileLock(layout.local / "stack.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(
            f"error: another `make run` is already running on {layout.local} "
            f"(lock {lock.lock_file}); stop it first or set APRANOVA_LOCAL_DIR",
            file=sys.stderr,
        )
        return 1
    try:
        return _run_stack(layout, ports)
    except cluster.ClusterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        lock.release()


def _run_stack(layout: cluster.Layout, ports: StackPorts) -> int:
    layout.logs.mkdir(parents=True, exist_ok=True)
    api_port = ports.api
    pg_port = ports.postgres
    smtp_port = ports.smtp
    operator_health_port = ports.operator_health
    operator_metrics_port = ports.operator_metrics
    tools = LocalToolsSettings.from_env(os.environ)
    local_tools: LocalTools | None = None
    started_cluster = False
    started_postgres = False
    stopping = threading.Event()
    processes: list[tuple[str, subprocess.Popen]] = []
    pg = LocalPostgres(
        layout.local / "postgres", pg_port, _persisted_secret(layout.local / "postgres-password")
    )
    mail: Controller | None = None

    def request_stop(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        external = os.environ.get("KUBECONFIG", "")
        if external and Path(external).exists() and _reachable(external):
            kubeconfig = external
            print(f"using the cluster of KUBECONFIG={external}")
        else:
            started_cluster = not all(cluster.running_pid(layout, c) for c in cluster.COMPONENTS)
            kubeconfig = str(cluster.up(layout))

        pg.init()
        if not pg.is_running():
            started_postgres = True  # from here on, a server on this data folder is ours
            pg.start()
        api_db = pg.ensure_database("apranova")
        pg.ensure_database("students")
        print(f"PostgreSQL on 127.0.0.1:{pg_port} (data: {pg.data_dir})")

        _apply(kubeconfig, sorted((PROJECT_ROOT / "crds").glob("*.yaml")))
        subprocess.run(
            [
                str(cluster.binary("kubectl")),
                f"--kubeconfig={kubeconfig}",
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                "crd/studentenrollments.apranova.io",
                "crd/tracks.apranova.io",
            ],
            check=True,
            capture_output=True,
        )
        _apply(kubeconfig, sorted((PROJECT_ROOT / "manifests" / "tracks").glob("*.yaml")))
        print("CRDs and default tracks applied")

        mail_dir = layout.local / "mail"
        mail_dir.mkdir(parents=True, exist_ok=True)
        mail = Controller(MailCatcher(mail_dir), hostname="127.0.0.1", port=smtp_port)
        mail.start()

        base_env = {**os.environ, "KUBECONFIG": kubeconfig, "PYTHONUNBUFFERED": "1"}
        operator_env = operator_environment(
            base_env, pg.url("students"), operator_health_port, operator_metrics_port
        )
        operator_env.update(tools.operator_env(api_port) if tools.enabled else {})
        api_url = f"http://127.0.0.1:{api_port}"
        api_env = {
            **base_env,
            "DATABASE_URL": api_db,
            "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "PUBLIC_BASE_URL": api_url,
            "ALLOWED_REDIRECT_ORIGINS": os.environ.get("ALLOWED_REDIRECT_ORIGINS", api_url),
            **(
                tools.api_env(api_port, layout.local / "tools")
                if tools.enabled
                else {"TOOLS_NOTICE": SIMULATED_NOTICE}
            ),
        }
        apranova = [sys.executable, "-m", "apranova.cli"]
        operator = _start_process("operator", [*apranova, "operator"], operator_env, layout.logs)
        processes.append(("operator", operator))
        _wait_http(
            f"http://127.0.0.1:{operator_health_port}/healthz",
            operator,
            "operator",
            layout.logs / "operator.log",
            60,
        )
        api = _start_process(
            "api", [*apranova, "api", "--port", str(api_port)], api_env, layout.logs
        )
        processes.append(("api", api))
        _wait_http(f"{api_url}/readyz", api, "API", layout.logs / "api.log", 60)

        if tools.enabled:
            local_tools = LocalTools.for_stack(
                tools,
                kubeconfig,
                layout.local / "tools",
                api_port,
                os.environ.get("ENROLLMENT_SELECTOR", ""),
            )
            local_tools.start()
            api_url = tools.site_url(api_port)
            tools_line = (
                f"real tools behind http://<tool>-<user>.students.{tools.domain}:{tools.port}"
            )
        else:
            tools_line = SIMULATED_NOTICE
        offline = not os.environ.get("STRIPE_SECRET_KEY")
        checkout = "   (offline checkout: no Stripe account needed)" if offline else ""
        print(
            f"""
ApraNova is running.
  Get started:  {api_url}/get-started{checkout}
  Dashboard:    {api_url}/dashboard
  Mail:         SMTP 127.0.0.1:{smtp_port}; messages in {mail_dir} and printed here
  Operator:     http://127.0.0.1:{operator_health_port}/healthz, \
http://127.0.0.1:{operator_metrics_port}/metrics
  Kubernetes:   KUBECONFIG={kubeconfig} kubectl get se
  Logs:         {layout.logs}/
  Tools:        {tools_line}
Press Ctrl-C to stop everything.""",
            flush=True,
        )

        while not stopping.wait(1):
            for name, proc in processes:
                if proc.poll() is not None:
                    print(
                        f"error: the {name} exited (status {proc.returncode}); see "
                        f"{layout.logs / (name + '.log')}",
                        file=sys.stderr,
                    )
                    return 1
        return 0
    finally:
        print("\nstopping ...", flush=True)
        if local_tools is not None:
            local_tools.stop()
        for _name, proc in reversed(processes):
            _stop_process(proc)
        if mail is not None:
            mail.stop()
        if started_postgres and pg.is_running():
            pg.stop()
        if started_cluster:
            cluster.down(layout, quiet=True)
        print("stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())

"""What a benchmark run starts on the local stack, and stops again.

The shared local control plane (started if it is not running, never stopped), the CRDs and
default tracks, a throw-away PostgreSQL server (API database and student schemas), the Stripe,
Discord and SMTP stand-ins of ``tests/support``, one counting proxy per measured client
(:mod:`bench.apiserver_proxy`), the operator (serving only this run's enrollments) and two API
processes: ``api`` (its enrollments carry the operator's label) and ``api_load`` (the webhook and
poll phases; its enrollments carry a label no operator serves, so they cost the operator
nothing); with ``baseline_pythonpath``, a third, ``api_baseline``, runs other sources of the API
(say a ``git worktree`` of ``main``) against the same database, to compare before and after in
one run.
"""

from __future__ import annotations

import secrets
import subprocess
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock
from kubernetes import client, config

from apranova.local import cluster
from apranova.local.postgres import LocalPostgres, free_port
from apranova_contract.labels import ENROLLMENT_PLURAL, GROUP, TRACK_PLURAL, VERSION
from tests.support.api_process import ApiProcess, start_api
from tests.support.apiserver_proxy import CountingProxy
from tests.support.fake_discord import FakeDiscord
from tests.support.operator_process import OperatorProcess, start_operator
from tests.support.smtp import SmtpSink
from tests.support.stripe_standin import StripeStandIn

ROOT = cluster.PROJECT_ROOT
RUN_LABEL = "apranova.io/bench-run"
LOAD_LABEL = "apranova.io/bench-load"
DISCORD_CHANNEL = "1095083011117142999"


def apply_crds_and_tracks(kubeconfig: str) -> None:
    """Server-side apply ``crds/`` and ``manifests/tracks/`` (under the tests' lock file)."""
    kubectl = [str(cluster.binary("kubectl")), f"--kubeconfig={kubeconfig}"]
    layout = cluster.Layout.from_env()
    layout.local.mkdir(parents=True, exist_ok=True)
    with FileLock(str(layout.local / "crds.lock")):
        for folder in ("crds", "manifests/tracks"):
            for path in sorted((ROOT / folder).glob("*.yaml")):
                subprocess.run(
                    [*kubectl, "apply", "--server-side", "--force-conflicts",
                     "--field-manager=apranova-tests", "-f", str(path)],
                    check=True, capture_output=True, text=True,
                )  # fmt: skip
            if folder == "crds":
                subprocess.run(
                    [*kubectl, "wait", "--for=condition=Established", "--timeout=60s",
                     "crd/studentenrollments.apranova.io", "crd/tracks.apranova.io"],
                    check=True, capture_output=True, text=True,
                )  # fmt: skip


@dataclass
class Stack:
    """Everything a run uses; ``close()`` stops what it started (the cluster keeps running)."""

    output: Path
    run: str = field(default_factory=lambda: secrets.token_hex(3))
    exits: ExitStack = field(default_factory=ExitStack)
    kubeconfig: str = ""
    api_client: Any = None
    postgres: LocalPostgres | None = None
    stripe: StripeStandIn | None = None
    discord: FakeDiscord | None = None
    smtp: SmtpSink | None = None
    proxies: dict[str, CountingProxy] = field(default_factory=dict)
    operator: OperatorProcess | None = None
    api: ApiProcess | None = None
    api_load: ApiProcess | None = None
    baseline_pythonpath: str = ""
    api_baseline: ApiProcess | None = None
    webhook_secret: str = field(default_factory=lambda: "whsec_bench_" + secrets.token_hex(8))
    api_database_url: str = ""
    load_database_url: str = ""

    @property
    def burst_track(self) -> str:
        """A copy of the FSD track for the burst, with small resource requests: the local
        cluster's one fake node (64 CPUs, shared by everyone's tests) holds a thousand of these,
        and another engineer re-applying the default tracks must not add reconciles to the
        measured ones."""
        return f"bfsd{self.run}"

    @property
    def selector(self) -> str:
        return f"{RUN_LABEL}={self.run}"

    @property
    def load_selector(self) -> str:
        return f"{LOAD_LABEL}={self.run}"

    def open(self) -> Stack:
        self.output.mkdir(parents=True, exist_ok=True)
        self.kubeconfig = str(cluster.up(cluster.Layout.from_env(), quiet=True))
        apply_crds_and_tracks(self.kubeconfig)
        self.api_client = config.new_client_from_config(config_file=self.kubeconfig)
        self.exits.callback(self.api_client.close)
        self.exits.callback(self._delete_load_enrollments)
        objects = self.objects()
        fsd = objects.get_cluster_custom_object(GROUP, VERSION, TRACK_PLURAL, "fsd")
        copy = {key: fsd[key] for key in ("apiVersion", "kind", "spec")}
        copy["metadata"] = {"name": self.burst_track}
        for tool in copy["spec"]["tools"]:
            tool["resources"] = {
                "requests": {"cpu": "5m", "memory": "16Mi"},
                "limits": {"cpu": "100m", "memory": "128Mi"},
            }
        objects.create_cluster_custom_object(GROUP, VERSION, TRACK_PLURAL, copy)
        self.exits.callback(
            objects.delete_cluster_custom_object,
            GROUP,
            VERSION,
            TRACK_PLURAL,
            self.burst_track,
        )
        root = Path(tempfile.mkdtemp(prefix="apranova-bench-pg-"))
        self.postgres = LocalPostgres(root, free_port(), secrets.token_urlsafe(16))
        self.postgres.init()
        self.postgres.start()
        self.exits.callback(self.postgres.destroy)
        self.api_database_url = self.postgres.create_database("bench_api")
        self.load_database_url = self.postgres.create_database("bench_api_load")
        self.stripe = StripeStandIn().start()
        self.exits.callback(self.stripe.stop)
        self.discord = FakeDiscord("bench-discord-token", DISCORD_CHANNEL)
        self.discord.start()
        self.exits.callback(self.discord.stop)
        self.smtp = SmtpSink()
        self.smtp.start()
        self.exits.callback(self.smtp.stop)
        for name in ("operator", "floor", "api", "api_load"):
            proxy = CountingProxy(Path(self.kubeconfig), name).start()
            self.exits.callback(proxy.stop)
            self.proxies[name] = proxy
        return self

    def start_operator(self, extra: dict[str, str] | None = None) -> OperatorProcess:
        assert self.postgres is not None and self.discord is not None
        env = {
            "ENROLLMENT_SELECTOR": self.selector,
            "STUDENT_DB_ADMIN_URL": self.postgres.admin_url,
            "DISCORD_BOT_TOKEN": "bench-discord-token",
            "DISCORD_CHANNEL_ID": DISCORD_CHANNEL,
            "DISCORD_API_BASE": self.discord.api_base,
            "LOG_LEVEL": "WARNING",
            **(extra or {}),
        }
        kubeconfig = self.proxies["operator"].kubeconfig(self.output / "kubeconfigs")
        self.operator = start_operator(
            str(kubeconfig), env, self.output / "logs" / f"operator-{self.run}.log"
        )
        return self.operator

    def _api_env(self, database_url: str, labels: str, proxy: str) -> dict[str, str]:
        assert self.stripe is not None and self.smtp is not None
        return {
            "APRANOVA_ENV": "test",
            "DATABASE_URL": database_url,
            "STRIPE_SECRET_KEY": self.stripe.api_key,
            "STRIPE_API_BASE": self.stripe.url,
            "STRIPE_WEBHOOK_SECRET": self.webhook_secret,
            "ALLOWED_REDIRECT_ORIGINS": "http://shop.test",
            "ENROLLMENT_LABELS": labels,
            "KUBECONFIG": str(self.proxies[proxy].kubeconfig(self.output / "kubeconfigs")),
            "SMTP_URL": self.smtp.url,
            "REPAIR_INTERVAL_SECONDS": "3600",
        }

    def start_apis(self) -> None:
        logs = self.output / "logs"
        self.api = start_api(
            self._api_env(self.api_database_url, self.selector, "api"), logs / "api.log"
        )
        self.exits.callback(self.api.stop)
        self.api_load = start_api(
            self._api_env(self.load_database_url, self.load_selector, "api_load"),
            logs / "api-load.log",
        )
        self.exits.callback(self.api_load.stop)
        if self.baseline_pythonpath:
            env = self._api_env(self.load_database_url, self.load_selector, "api_load")
            env["PYTHONPATH"] = self.baseline_pythonpath
            self.api_baseline = start_api(env, logs / "api-baseline.log")
            self.exits.callback(self.api_baseline.stop)

    def objects(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api_client)

    def _delete_load_enrollments(self) -> None:
        """The API phase's enrollments (``load_selector``: no operator serves them, so they
        hold no finalizer) leave with the run instead of piling up in the shared cluster."""
        self.objects().delete_collection_cluster_custom_object(
            GROUP, VERSION, ENROLLMENT_PLURAL, label_selector=self.load_selector
        )

    def close(self) -> None:
        if self.operator is not None:
            self.operator.stop()
        self.exits.close()

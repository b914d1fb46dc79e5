"""Stop kube-apiserver in the middle of provisioning, and again in the middle of deletion; every
enrollment converges unattended once it is back.

The shared local control plane is never touched: this module starts its own (etcd,
kube-apiserver, controller-manager, scheduler, kwok) in a temporary folder on free ports, stops
and restarts only its kube-apiserver, and removes it all at the end. Full scale only (20
enrollments): starting a second control plane is too heavy for ``make test``.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from apranova.local import cluster
from apranova.local.postgres import free_port
from tests.conftest import PROJECT_ROOT, kubectl
from tests.e2e.test_database_adapter import Server
from tests.faults import fleet
from tests.faults.harness import scale, settle, sized
from tests.faults.outages import Fleet, outage_during_provisioning_and_deletion
from tests.support.operator_process import GROUP, VERSION, wait_for

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.postgres,
    pytest.mark.faults,
    pytest.mark.timeout(1800),
    pytest.mark.skipif(scale() != "full", reason="own control plane: FAULTS_SCALE=full only"),
]


class PrivateCluster:
    """A second local control plane that only this module uses (and may break)."""

    def __init__(self, folder: Path) -> None:
        self.layout = cluster.Layout(folder)
        self.ports = cluster.Ports(*(free_port() for _ in range(6)))
        self.kubeconfig = ""

    def up(self) -> None:
        self.kubeconfig = str(cluster.up(self.layout, self.ports, quiet=True))

    def stop_apiserver(self) -> None:
        """SIGTERM, and SIGKILL when it is still shutting down gracefully after 15 s."""
        pid = cluster.running_pid(self.layout, "kube-apiserver")
        assert pid is not None

        def stopped() -> bool:
            return cluster.running_pid(self.layout, "kube-apiserver") is None

        os.kill(pid, signal.SIGTERM)
        if not settle(stopped, 15, interval=0.5):
            os.kill(pid, signal.SIGKILL)
            wait_for(stopped, 30, "kube-apiserver to stop")

    def down(self) -> None:
        cluster.down(self.layout, purge=True, quiet=True)


@pytest.fixture(scope="module")
def private(tmp_path_factory: Any) -> Iterator[PrivateCluster]:
    own = PrivateCluster(tmp_path_factory.mktemp("cp"))
    try:
        own.up()
        crds = sorted((PROJECT_ROOT / "crds").glob("*.yaml"))
        kubectl(own.kubeconfig, "apply", "--server-side", *[f"-f={p}" for p in crds])
        kubectl(
            own.kubeconfig,
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            *[f"-f={p}" for p in crds],
        )
        yield own
    finally:
        own.down()


def test_apiserver_restart_mid_provisioning_and_mid_deletion(
    private: PrivateCluster,
    student_data: Server,
    run_id: str,
    run_label: tuple[str, str],
    test_output_dir: Path,
) -> None:
    total = sized(3, 20)
    api = config.new_client_from_config(config_file=private.kubeconfig)
    objects, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
    track = f"faults-{run_id}"
    objects.create_cluster_custom_object(GROUP, VERSION, "tracks", fleet.light_track(track))
    selector = f"{run_label[0]}={run_label[1]}"
    usernames = [f"{run_id}-{index:02d}" for index in range(total)]
    operator = fleet.start_fault_operator(
        private.kubeconfig,
        selector,
        student_data,
        test_output_dir / f"operator-apiserver-{run_id}.log",
    )
    group = Fleet(objects, core, student_data, selector, dict([run_label]), track, usernames)
    try:
        provisioning, deletion, left = outage_during_provisioning_and_deletion(
            "apiserver-restart", group, private.stop_apiserver, private.up, 900, test_output_dir
        )
        assert provisioning.lost == 0
        assert deletion.orphaned == 0, left
    finally:
        operator.stop()
        api.close()

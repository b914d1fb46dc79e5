"""Pure parts of the local control plane: command lines, kubeconfigs, kwok stages, settings."""

from __future__ import annotations

import base64
import socket
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from apranova.local import cluster, pki


@pytest.fixture
def layout(tmp_path: Path) -> cluster.Layout:
    return cluster.Layout(tmp_path / ".local")


def test_ports_from_env_defaults_and_validation() -> None:
    ports = cluster.Ports.from_env({})
    assert ports.apiserver == 6443
    assert cluster.Ports.from_env({"APRANOVA_APISERVER_PORT": "7443"}).apiserver == 7443
    with pytest.raises(cluster.ClusterError, match="APRANOVA_ETCD_PORT='nope'"):
        cluster.Ports.from_env({"APRANOVA_ETCD_PORT": "nope"})
    with pytest.raises(cluster.ClusterError, match="not a port number"):
        cluster.Ports.from_env({"APRANOVA_KWOK_PORT": "70000"})


def test_apiserver_enforces_rbac_and_serves_tls(layout: cluster.Layout) -> None:
    argv = cluster.component_argv(
        "kube-apiserver", layout, cluster.Ports.from_env({}), Path("/tools")
    )
    assert argv[0] == "/tools/bin/kube-apiserver"
    assert "--authorization-mode=RBAC" in argv
    assert "--advertise-address=127.0.0.1" in argv
    assert any(a.startswith("--tls-cert-file=") for a in argv)
    assert any(a.startswith("--service-account-signing-key-file=") for a in argv)


def test_every_component_has_a_command(layout: cluster.Layout) -> None:
    ports = cluster.Ports.from_env({})
    for component in cluster.COMPONENTS:
        argv = cluster.component_argv(component, layout, ports, Path("/tools"))
        assert argv[0].endswith(component)
    with pytest.raises(ValueError):
        cluster.component_argv("kubelet", layout, ports, Path("/tools"))


def test_kubeconfig_document_round_trips() -> None:
    ca = pki.make_ca()
    cert = pki.issue_certificate(ca, "admin", "system:masters")
    doc = cluster.kubeconfig_document(
        "https://127.0.0.1:6443", ca.cert_pem, "admin", cert.cert_pem, cert.key_pem
    )
    user = doc["users"][0]["user"]
    parsed = x509.load_pem_x509_certificate(base64.b64decode(user["client-certificate-data"]))
    assert parsed.subject.rfc4514_string() == "O=system:masters,CN=admin"
    assert doc["current-context"] == doc["contexts"][0]["name"]


def test_serving_certificate_names_loopback() -> None:
    ca = pki.make_ca()
    serving = pki.issue_certificate(
        ca, "kube-apiserver", server=True, dns_names=("localhost",), ip_addresses=("127.0.0.1",)
    )
    cert = x509.load_pem_x509_certificate(serving.cert_pem)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_ensure_pki_is_created_once(layout: cluster.Layout) -> None:
    ports = cluster.Ports.from_env({})
    cluster.ensure_pki(layout, ports)
    ca_before = (layout.pki / "ca.crt").read_bytes()
    admin_before = layout.kubeconfig.read_text()
    cluster.ensure_pki(layout, ports)
    assert (layout.pki / "ca.crt").read_bytes() == ca_before
    assert layout.kubeconfig.read_text() == admin_before
    assert oct(layout.kubeconfig.stat().st_mode & 0o777) == "0o600"


def test_kwok_stages_document(tmp_path: Path) -> None:
    for rel in [
        "node/fast/node-initialize.yaml",
        "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
        *(
            f"pod/general/{n}.yaml"
            for n in (
                "pod-create",
                "pod-init-container-running",
                "pod-init-container-completed",
                "pod-ready",
                "pod-complete",
                "pod-delete",
            )
        ),
    ]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"kind: Stage\nmetadata:\n  name: {path.stem}\n")
    docs = list(yaml.safe_load_all(cluster.kwok_stages_document(tmp_path)))
    assert [d["metadata"]["name"] for d in docs][-1] == "pod-delete"
    assert len(docs) == 8
    (tmp_path / "pod/general/pod-ready.yaml").unlink()
    with pytest.raises(cluster.ClusterError, match=r"pod-ready\.yaml"):
        cluster.kwok_stages_document(tmp_path)


def test_down_without_a_cluster_is_harmless(layout: cluster.Layout) -> None:
    cluster.down(layout, quiet=True)
    assert cluster.running_pid(layout, "etcd") is None


def test_fake_node_is_untainted_and_selected_by_kwok() -> None:
    node = cluster.fake_node()
    assert "taints" not in node.get("spec", {})
    assert node["metadata"]["labels"]["type"] == "kwok"


def _fake_tools(tmp_path: Path, components: tuple[str, ...] = cluster.COMPONENTS) -> Path:
    tools = tmp_path / "tools"
    (tools / "bin").mkdir(parents=True)
    for name in components:
        (tools / "bin" / name).write_text("")
    return tools


def test_up_names_a_missing_binary(layout, tmp_path, monkeypatch) -> None:
    tools = _fake_tools(tmp_path, ("etcd", "kube-apiserver"))
    monkeypatch.setenv("APRANOVA_CONTROL_PLANE_DIR", str(tools))
    with pytest.raises(cluster.ClusterError, match=r"kube-controller-manager is missing"):
        cluster.up(layout, cluster.Ports.from_env({}), quiet=True)


def test_up_refuses_a_taken_port_with_a_message(layout, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("APRANOVA_CONTROL_PLANE_DIR", str(_fake_tools(tmp_path)))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ports = cluster.Ports.from_env({"APRANOVA_ETCD_PORT": str(port)})
        with pytest.raises(cluster.ClusterError, match=rf"port {port} needed by etcd"):
            cluster.up(layout, ports, quiet=True)
    assert cluster.running_pid(layout, "etcd") is None

"""NetworkPolicies: deny by default, then allow exactly what the tools need."""

from __future__ import annotations

from typing import Any

from apranova_operator.render.context import RenderContext

_NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def _policy(ctx: RenderContext, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": ctx.metadata(name),
        "spec": {"podSelector": {}, **spec},
    }


def network_policies(ctx: RenderContext) -> list[dict[str, Any]]:
    """Default deny in both directions; ingress from the ingress controller and the namespace;
    egress to DNS, the namespace, the web (80/443: packages, Git) and the database port."""
    settings = ctx.settings
    same_namespace: dict[str, Any] = {"podSelector": {}}
    policies = [
        _policy(ctx, "default-deny", {"policyTypes": ["Ingress", "Egress"]}),
        _policy(
            ctx,
            "allow-ingress",
            {
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {
                                        _NAMESPACE_NAME_LABEL: settings.ingress_controller_namespace
                                    }
                                }
                            },
                            same_namespace,
                        ]
                    }
                ],
            },
        ),
        _policy(
            ctx,
            "allow-egress",
            {
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {_NAMESPACE_NAME_LABEL: settings.dns_namespace}
                                }
                            }
                        ],
                        "ports": [
                            {"protocol": "UDP", "port": 53},
                            {"protocol": "TCP", "port": 53},
                        ],
                    },
                    {"to": [same_namespace]},
                    {
                        "to": [{"ipBlock": {"cidr": settings.egress_web_cidr}}],
                        "ports": [
                            {"protocol": "TCP", "port": 80},
                            {"protocol": "TCP", "port": 443},
                        ],
                    },
                ],
            },
        ),
    ]
    if ctx.track.get("database"):
        policies.append(
            _policy(
                ctx,
                "allow-database",
                {
                    "policyTypes": ["Egress"],
                    "egress": [
                        {
                            "to": [{"ipBlock": {"cidr": settings.egress_database_cidr}}],
                            "ports": [{"protocol": "TCP", "port": settings.egress_database_port}],
                        }
                    ],
                },
            )
        )
    return policies

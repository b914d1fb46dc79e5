"""Operator settings from environment variables, validated once at start-up.

Every variable is listed in the README (section ``operator``). A bad value stops the operator
with one message per variable instead of failing at the first enrollment.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from apranova.listen_checks import host_problem
from apranova.settings_errors import refuse
from apranova_contract import names
from apranova_contract.labels import is_label


def parse_selector(text: str) -> dict[str, str]:
    """``key=value,key2=value2`` (empty: no filter) into a dict; ``ValueError`` when malformed."""
    selector: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not is_label(key, value):
            raise ValueError(f"{item!r} is not a label requirement of the form key=value")
        selector[key] = value
    return selector


class OperatorSettings(BaseSettings):
    """The operator's configuration (environment variables, no prefix)."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    enrollment_selector: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    base_domain: str = "students.localtest.me"
    tool_host_template: str = "{tool}-{enrollment}.{baseDomain}"
    tool_url_scheme: Literal["http", "https"] = "https"
    tool_url_port: int | None = Field(default=None, ge=1, le=65535)
    ingress_class: str = "nginx"
    ingress_tls_secret: str = ""
    ingress_annotations: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    ingress_controller_namespace: str = "ingress-nginx"
    dns_namespace: str = "kube-system"
    egress_web_cidr: str = "0.0.0.0/0"
    egress_database_cidr: str = "0.0.0.0/0"
    egress_database_port: int = Field(default=5432, ge=1, le=65535)
    storage_class: str = ""
    tool_auth_url: str = ""
    tool_auth_signin_url: str = ""
    operator_health_host: str = "0.0.0.0"
    operator_health_port: int = Field(default=8080, ge=1, le=65535)
    operator_metrics_port: int = Field(default=9090, ge=0, le=65535)
    max_concurrent_reconciles: int = Field(default=8, ge=1, le=256)
    retry_base_seconds: float = Field(default=2.0, gt=0)
    retry_max_seconds: float = Field(default=300.0, gt=0)
    log_format: Literal["json", "text"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("enrollment_selector", mode="before")
    @classmethod
    def _selector(cls, value: object) -> object:
        return parse_selector(value) if isinstance(value, str) else value

    @field_validator("ingress_annotations", mode="before")
    @classmethod
    def _annotations(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        if not value.strip():
            return {}
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"must be a JSON object of strings: {error}") from error
        if not isinstance(parsed, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in parsed.items()
        ):
            raise ValueError("must be a JSON object whose keys and values are strings")
        return parsed

    @field_validator("base_domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        if not value or not all(names.is_dns_label(label) for label in value.split(".")):
            raise ValueError(f"{value!r} is not a DNS name")
        return value

    @field_validator("tool_host_template")
    @classmethod
    def _template(cls, value: str) -> str:
        if "{tool}" not in value or ("{enrollment}" not in value and "{username}" not in value):
            raise ValueError("must contain {tool} and {enrollment} so each host is unique")
        try:
            names.tool_host(value, "tool", "user-dp", "example.com")
        except (KeyError, IndexError) as error:
            raise ValueError(
                f"unknown placeholder {error}; use {{tool}}, {{enrollment}}, {{{{baseDomain}}}}"
            ) from error
        return value

    @field_validator(
        "ingress_class",
        "ingress_tls_secret",
        "ingress_controller_namespace",
        "dns_namespace",
        "storage_class",
    )
    @classmethod
    def _dns_name(cls, value: str) -> str:
        if value and not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", value):
            raise ValueError(f"{value!r} is not a Kubernetes object name")
        return value

    @field_validator("egress_web_cidr", "egress_database_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            ipaddress.ip_network(value)
        except ValueError as error:
            raise ValueError(f"{value!r} is not a CIDR block: {error}") from error
        return value

    @field_validator("operator_health_host")
    @classmethod
    def _listen_host(cls, value: str) -> str:
        refuse(host_problem(value))
        return value

    @field_validator("tool_auth_url", "tool_auth_signin_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not re.match(r"^https?://[^\s]+$", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

"""Names derived from user input, one function per target's rules.

Every name that reaches Kubernetes or PostgreSQL goes through exactly one of these functions, so
the rules of each target (DNS-1123 labels, PostgreSQL identifiers) are enforced in one place.
All functions are pure and deterministic: the same input always gives the same name.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

USERNAME_MAX = 40
"""A username is a DNS-1123 label of at most 40 characters (the CRD enforces the same)."""

DNS_LABEL_MAX = 63
PG_IDENTIFIER_MAX_BYTES = 63
NAMESPACE_PREFIX = "student-"
SCHEMA_PREFIX = "stu_"
ROLE_PREFIX = "stu_"
_FOREIGN_SCHEMA_PREFIX = "stx_"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def is_dns_label(value: str, max_length: int = DNS_LABEL_MAX) -> bool:
    """True when ``value`` is a valid DNS-1123 label no longer than ``max_length``."""
    return len(value) <= max_length and bool(_DNS_LABEL.match(value))


def _short_hash(value: str, length: int = 8) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:length]


def _ascii_fold(value: str) -> str:
    return unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")


def username_base(email: str) -> str:
    """The preferred username for an email address: a DNS label of at most 30 characters.

    The local part is folded to ASCII, lower-cased, and every run of other characters becomes one
    hyphen. Leaves room (10 characters) for the suffix that :func:`username_candidate` adds when
    the base is already taken.
    """
    local = email.split("@", 1)[0]
    folded = _ascii_fold(local).lower()
    slug = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")
    slug = slug[:30].strip("-")
    return slug or "student"


def username_candidate(email: str, attempt: int) -> str:
    """The ``attempt``-th username to try for ``email`` (0 is the plain base).

    Attempt 0 is :func:`username_base`; later attempts append a short hash of the email and the
    attempt number, so two people with the same local part at different domains converge quickly
    on different names and the result is always a valid username.
    """
    base = username_base(email)
    if attempt == 0:
        return base
    suffix = _short_hash(f"{email.lower()}#{attempt}", 6)
    name = f"{base[: USERNAME_MAX - len(suffix) - 1].rstrip('-')}-{suffix}"
    return name


def enrollment_name(username: str) -> str:
    """The name of the cluster-scoped ``StudentEnrollment`` of a student: the username itself."""
    if not is_dns_label(username, USERNAME_MAX):
        raise ValueError(f"username {username!r} is not a DNS-1123 label of at most {USERNAME_MAX}")
    return username


def namespace_name(username: str) -> str:
    """The student's namespace, ``student-<username>``; at most 48 characters."""
    return NAMESPACE_PREFIX + enrollment_name(username)


def tool_host(template: str, tool: str, username: str, base_domain: str) -> str:
    """An ingress host from a template with ``{tool}``, ``{username}`` and ``{baseDomain}``.

    Raises ``ValueError`` when the result is not a valid DNS name (each label a DNS-1123 label).
    """
    host = template.format(tool=tool, username=username, baseDomain=base_domain).lower()
    labels = host.split(".")
    if len(host) > 253 or not all(is_dns_label(label) for label in labels):
        raise ValueError(f"host {host!r} from template {template!r} is not a valid DNS name")
    return host


def pg_identifier(username: str, prefix: str) -> str:
    """A PostgreSQL identifier for a student: lower-case ASCII, at most 63 bytes, unique.

    A canonical username (a DNS label) maps to ``prefix`` + the username with ``-`` turned into
    ``_``; as DNS labels hold no ``_`` this is one-to-one. Anything else (quotes, semicolons,
    unicode, over-long input) is reduced to ``[a-z0-9_]`` and gets a hash of the original, under a
    different prefix, so it can never collide with a canonical name or with another input.
    """
    if is_dns_label(username, USERNAME_MAX):
        return prefix + username.replace("-", "_")
    foreign_prefix = _FOREIGN_SCHEMA_PREFIX if prefix == SCHEMA_PREFIX else prefix + "x_"
    cleaned = re.sub(r"[^a-z0-9_]+", "_", _ascii_fold(username).lower()).strip("_")
    digest = _short_hash(username, 12)
    room = PG_IDENTIFIER_MAX_BYTES - len(foreign_prefix) - len(digest) - 1
    cleaned = cleaned[:room].rstrip("_")
    return f"{foreign_prefix}{cleaned}_{digest}" if cleaned else f"{foreign_prefix}{digest}"


def schema_name(username: str) -> str:
    """The student's PostgreSQL schema name."""
    return pg_identifier(username, SCHEMA_PREFIX)


def role_name(username: str) -> str:
    """The student's PostgreSQL login role. Same as the schema: the role owns its schema."""
    return pg_identifier(username, ROLE_PREFIX)

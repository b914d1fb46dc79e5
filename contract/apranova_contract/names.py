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

ENROLLMENT_NAME_MAX = 47
"""An enrollment name is a DNS-1123 label of at most 47 characters, so that every name derived
from it fits its target: the namespace ``student-<name>`` (55 of 63), a tool host label
``<tool>-<name>`` with a tool name of at most 15 characters (63 of 63), the schema and role
``stu_<name>`` (51 of 63 bytes)."""

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


def track_slug(track: str) -> str:
    """A track name as a DNS-label fragment: ASCII, lower case, other characters as ``-``."""
    slug = re.sub(r"[^a-z0-9]+", "-", _ascii_fold(track).lower()).strip("-")
    return slug or "track"


def enrollment_name_candidate(username: str, track: str, attempt: int = 0) -> str:
    """The ``attempt``-th name to try for ``username``'s enrollment in ``track`` (0 is preferred).

    Attempt 0 is ``<username>-<track>`` (``ada-dp``) when that is a DNS label of at most
    :data:`ENROLLMENT_NAME_MAX` characters; otherwise, and for every later attempt (the name is
    taken, or its namespace belongs to someone else), ``<username>-`` followed by as much of the
    track as fits and a short hash of username, track and attempt. Every result starts with
    ``<username>-``, which the CRD checks. Enrollments made before purchases existed are named
    after the username alone (also accepted by the CRD). Raises ``ValueError`` for a username that
    is not a DNS label of at most :data:`USERNAME_MAX` characters.
    """
    if not is_dns_label(username, USERNAME_MAX):
        raise ValueError(f"username {username!r} is not a DNS-1123 label of at most {USERNAME_MAX}")
    preferred = f"{username}-{track_slug(track)}"
    if attempt == 0 and is_dns_label(preferred, ENROLLMENT_NAME_MAX):
        return preferred
    suffix = _short_hash(f"{username}#{track}#{attempt}", 6)
    room = ENROLLMENT_NAME_MAX - len(suffix) - 1
    return f"{preferred[:room].rstrip('-')}-{suffix}"


def is_enrollment_name(value: str, username: str) -> bool:
    """True when ``value`` may name an enrollment of ``username`` (the CRD's rule, in Python).

    Either the username itself (enrollments created before a student could hold several tracks)
    or ``<username>-...``, a DNS label of at most :data:`ENROLLMENT_NAME_MAX` characters.
    """
    if not is_dns_label(value, ENROLLMENT_NAME_MAX):
        return False
    return value == username or value.startswith(f"{username}-")


def namespace_name(enrollment: str) -> str:
    """The namespace of an enrollment, ``student-<enrollment name>``; at most 55 characters.

    For an enrollment named after its username (the rule before purchases) this is the same
    ``student-<username>`` as before, so such environments keep their namespace.
    """
    if not is_dns_label(enrollment, ENROLLMENT_NAME_MAX):
        raise ValueError(
            f"enrollment name {enrollment!r} is not a DNS-1123 label of at most "
            f"{ENROLLMENT_NAME_MAX}"
        )
    return NAMESPACE_PREFIX + enrollment


def tool_host(template: str, tool: str, enrollment: str, base_domain: str) -> str:
    """An ingress host from a template with ``{tool}``, ``{enrollment}`` and ``{baseDomain}``.

    ``{enrollment}`` is the enrollment's name; ``{username}``, the placeholder of templates
    written before a student could hold several tracks, means the same (for the enrollments of
    that time, the name *was* the username), so such templates keep giving the same hosts.
    Raises ``ValueError`` when the result is not a valid DNS name (each label a DNS-1123 label).
    """
    host = template.format(
        tool=tool, enrollment=enrollment, username=enrollment, baseDomain=base_domain
    ).lower()
    labels = host.split(".")
    if len(host) > 253 or not all(is_dns_label(label) for label in labels):
        raise ValueError(f"host {host!r} from template {template!r} is not a valid DNS name")
    return host


def pg_identifier(username: str, prefix: str) -> str:
    """A PostgreSQL identifier for an enrollment: lower-case ASCII, at most 63 bytes, unique.

    ``username`` is the enrollment's name (the username itself for enrollments made before
    purchases). A canonical name (a DNS label of at most :data:`ENROLLMENT_NAME_MAX`) maps to
    ``prefix`` + the name with ``-`` turned into ``_``; as DNS labels hold no ``_`` this is
    one-to-one. Anything else (quotes, semicolons,
    unicode, over-long input) is reduced to ``[a-z0-9_]`` and gets a hash of the original, under a
    different prefix, so it can never collide with a canonical name or with another input.
    """
    if is_dns_label(username, ENROLLMENT_NAME_MAX):
        return prefix + username.replace("-", "_")
    foreign_prefix = _FOREIGN_SCHEMA_PREFIX if prefix == SCHEMA_PREFIX else prefix + "x_"
    cleaned = re.sub(r"[^a-z0-9_]+", "_", _ascii_fold(username).lower()).strip("_")
    digest = _short_hash(username, 12)
    room = PG_IDENTIFIER_MAX_BYTES - len(foreign_prefix) - len(digest) - 1
    cleaned = cleaned[:room].rstrip("_")
    return f"{foreign_prefix}{cleaned}_{digest}" if cleaned else f"{foreign_prefix}{digest}"


def schema_name(enrollment: str) -> str:
    """The PostgreSQL schema of an enrollment (named by :func:`enrollment_name_candidate`)."""
    return pg_identifier(enrollment, SCHEMA_PREFIX)


def role_name(enrollment: str) -> str:
    """The PostgreSQL login role of an enrollment. Same as the schema: the role owns it."""
    return pg_identifier(enrollment, ROLE_PREFIX)

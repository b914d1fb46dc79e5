"""Checks of listen addresses and host names, shared by ``apranova api`` and ``apranova operator``.

Each check returns ``""`` when the value is fine, else a short reason fit for one line of a
start-up error, so a bad value stops the process before any socket is opened.
"""

from __future__ import annotations

import ipaddress
import re
import socket

# RFC 1123 section 2.1 labels; RFC 3696 section 2: the last label is never all digits, so
# ``999.1.1.1`` is neither an IP address nor a host name.
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def is_hostname(text: str) -> bool:
    """True for a DNS host name such as ``api.example.com`` or ``localhost`` (pure)."""
    labels = text.removesuffix(".").split(".")
    if not text or len(text) > 253 or labels[-1].isdigit():
        return False
    return all(_LABEL.fullmatch(label) for label in labels)


def host_problem(host: str) -> str:
    """Why ``host`` cannot be a listen address (an IP address or a host name), or ``""``."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not is_hostname(host):
            return f"{host!r} is neither an IP address nor a host name"
    return ""


def port_problem(port: int) -> str:
    """Why ``port`` cannot be a TCP port to listen on, or ``""`` (pure)."""
    return "" if 1 <= port <= 65535 else f"{port} is not a port number (1-65535)"


def bind_problem(host: str, port: int) -> str:
    """Why nothing can listen on ``host:port`` right now (in use, unknown host...), or ``""``.

    Binds a throw-away socket the way servers do (``SO_REUSEADDR``) and closes it at once.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as error:
        return f"cannot resolve {host!r}: {error.strerror or error}"
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            return f"cannot listen on {host}:{port}: {error.strerror or error}"
    return ""

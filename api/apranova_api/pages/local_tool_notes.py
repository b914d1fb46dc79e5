"""Read the local tools' notes (``make run`` with ``LOCAL_TOOLS=1``) for the dashboard's cards.

The local stack's tool proxy keeps, per ingress host, why its tool is not served (it cannot be
installed or run here, or is still being installed or started) in a JSON object file
(``LOCAL_TOOLS_NOTES_FILE``); :func:`read_local_tool_notes` reads it on each render. Outside
``make run`` the setting is empty and there are no notes.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def read_local_tool_notes(path: str) -> dict[str, str]:
    """``{host: note}`` from the file at ``path``; empty when ``path`` is empty, the file is
    missing (no note yet) or unreadable (logged): a note is never worth failing a page."""
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        log.warning("local tool notes %s unreadable: %s", path, error)
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(host).lower(): str(note) for host, note in data.items()}

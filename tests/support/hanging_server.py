"""A TCP server on 127.0.0.1 that accepts connections and never answers: a hanging Stripe.

It reads what clients send and holds every connection open until :meth:`HangingServer.stop`,
so a client waits for its own read timeout, exactly as with an API that stopped responding.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class HangingServer:
    """Accepts, reads, never writes. ``accepted`` counts connections."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._connections: list[socket.socket] = []
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self.accepted = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def start(self) -> HangingServer:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if self._stopped.is_set():
                    connection.close()
                    return
                self.accepted += 1
                self._connections.append(connection)

    def stop(self) -> None:
        """Close the listener and every held connection: clients see the connection drop."""
        with self._lock:
            self._stopped.set()
            connections, self._connections = self._connections, []
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._listener.close()
        for connection in connections:
            connection.close()

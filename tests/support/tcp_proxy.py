"""A TCP proxy on loopback that a test can cut and restore (threads, so it keeps working while the test's event
loop is blocked or busy). `cut()` drops every open connection and refuses new ones (accepted, then closed at once);
`restore()` forwards again. Used to cut the clinic's PostgreSQL connection without touching the system service."""

from __future__ import annotations

import socket
import threading
from typing import List, Tuple


class TcpProxy:
    def __init__(self, target: Tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._up = threading.Event()
        self._up.set()
        self._closed = False
        self._lock = threading.Lock()
        self._open: List[socket.socket] = []
        self.refused = 0  # connections closed at once while cut
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)

    def __enter__(self) -> "TcpProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def cut(self) -> None:
        self._up.clear()
        self._drop_all()

    def restore(self) -> None:
        self._up.set()

    def close(self) -> None:
        self._closed = True
        self._up.clear()
        try:
            self._listener.close()
        except OSError:
            pass
        self._drop_all()

    def _drop_all(self) -> None:
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._up.is_set():
                self.refused += 1
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data or not self._up.is_set():
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

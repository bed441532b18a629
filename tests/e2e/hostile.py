"""A real loopback server that misbehaves on purpose: it trickles its answer, or never answers."""

from __future__ import annotations

import socket
import threading
import time


class Hostile:
    """Accepts connections; reads each request whole, then, as `how` says:

    trickle: writes a status line and headers a byte every `pause_s` seconds, for ever;
    silent:  writes nothing and keeps the connection open.
    `requests` counts the requests read (a test synchronises on it)."""

    def __init__(self, how: str, pause_s: float = 0.2) -> None:
        self.how = how
        self.pause_s = pause_s
        self.requests = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as f:
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                line = f.readline()
                if not line:
                    return
                head += line
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            f.read(length)
            with self._lock:
                self.requests += 1
            answer = b"HTTP/1.1 201 Created\r\n" + b"X-Slow: " + b"a" * 100_000
            for byte in answer:
                if self._stop.wait(self.pause_s):
                    return
                if self.how == "trickle":
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        return

    def wait_for_requests(self, count: int, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.requests < count:
            assert time.monotonic() < deadline, f"only {self.requests} requests arrived"
            time.sleep(0.01)

    def close(self) -> None:
        self._stop.set()
        self._listener.close()

"""The stand-in's HTTP server: threads, keep-alive connections and request bodies (plain
or chunked); what to answer it leaves to the route it is given (SlackStandIn._route)."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bot.sandbox.standin.protocol import Answer, err, json_answer, text_answer

_LOG = logging.getLogger(__name__)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # Keep-alive clients would otherwise make stop() wait until they hang up.
    block_on_close = False
    # Bursts of concurrent clients overflow the default backlog of 5 and stall on SYN retries.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        route: Callable[[str, str, Message, bytes, float], Answer],
    ) -> None:
        self.route = route
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, Handler)

    def close_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.open_connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"
    server_version = "SlackStandIn/1.0"
    sys_version = ""
    # Idle keep-alive connections are dropped after this many seconds.
    timeout = 60
    # Headers and body go out in separate writes; with Nagle on, keep-alive clients stall ~40 ms.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.open_connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        # Per-request logging would dominate benchmark time and drown test output.
        return

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, verb: str) -> None:
        at = time.time()
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send(text_answer("bad request body", 400))
            return
        try:
            answer = self.server.route(verb, self.path, self.headers, body, at)
        except Exception:
            _LOG.exception("Slack stand-in failed on %s %s", verb, self.path)
            answer = json_answer(err("internal_error"), 500)
        try:
            self._send(answer)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline(65537).split(b";", 1)[0].strip(), 16)
            if size == 0:
                break
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        # Trailers end with an empty line; they carry nothing we need.
        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
            pass
        return b"".join(chunks)

    def _send(self, answer: Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)

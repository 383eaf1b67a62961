"""A stand-in for Flink's REST endpoint on 127.0.0.1: HTTPS, HTTP/1.1 keepalive, and a record of what reached it.

It answers `GET /overview` with JSON, `GET /` with HTML, anything else with 404, and any POST by reading
and counting the body. It records every request's path and headers, every body size, and every TCP
connection it accepted, so tests can see what a proxy forwarded and whether it reused connections.
Given `client_ca`, it requires a client certificate signed by that CA, as Flink's REST API does with
`security.ssl.rest.authentication-enabled`, and records the common name of the certificate each request came with.
"""

import json
import socket
import ssl
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"
OVERVIEW = {"taskmanagers": 1, "slots-total": 2, "flink-version": "test-upstream"}
INDEX_HTML = b"<!doctype html><title>Apache Flink Web Dashboard</title>\n"


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    body_bytes: int
    client_common_name: str | None = None
    """CN of the verified client certificate; None unless the upstream requires client certificates."""


@dataclass
class UpstreamRecord:
    """What the upstream saw; appended to from handler threads, read after the requests completed."""

    connections: int = 0
    requests: list[SeenRequest] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, request: SeenRequest) -> None:
        with self.lock:
            self.requests.append(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 20
    server: "_Server"

    def do_GET(self) -> None:
        self._record(0)
        path = urlsplit(self.path).path
        if path == "/overview":
            self._reply(200, "application/json", json.dumps(OVERVIEW).encode())
        elif path == "/":
            self._reply(200, "text/html", INDEX_HTML)
        else:
            self._reply(404, "application/json", b'{"errors":["Not found."]}')

    def do_POST(self) -> None:
        length = self.headers.get("Content-Length")
        if length is None:
            self._record(0)
            self._reply(411, "text/plain", b"length required")
            return
        remaining, received = int(length), 0
        while remaining:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            received += len(chunk)
            remaining -= len(chunk)
        self._record(received)
        self._reply(200, "application/json", json.dumps({"received": received}).encode())

    def _record(self, body_bytes: int) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.record.add(SeenRequest(self.command, self.path, headers, body_bytes, self._client_common_name()))

    def _client_common_name(self) -> str | None:
        # getpeercert(): None without a client certificate, {} for one this server did not verify.
        subject = (self.connection.getpeercert() or {}).get("subject", ())
        names = [value for rdn in subject for key, value in rdn if key == "commonName"]
        return names[0] if names else None

    def _reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context: ssl.SSLContext, record: UpstreamRecord) -> None:
        self.context = context
        self.record = record
        super().__init__((LOOPBACK, 0), _Handler)

    def get_request(self) -> tuple[socket.socket, object]:
        sock, address = super().get_request()
        with self.record.lock:
            self.record.connections += 1
        # The handshake runs in the handler thread, so a client that stalls or rejects us blocks nobody else.
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request: object, client_address: object) -> None:
        with self.record.lock:
            self.record.errors.append(repr(sys.exc_info()[1]))


@dataclass(frozen=True)
class RunningUpstream:
    port: int
    record: UpstreamRecord


@contextmanager
def https_upstream(certificate_chain: Path, key: Path, *, client_ca: Path | None = None) -> Iterator[RunningUpstream]:
    """Serve on 127.0.0.1 (a free port) with the given PEM chain and key until the block exits; with `client_ca`,
    only to clients presenting a certificate that CA signed (a failed handshake lands in `record.errors`)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate_chain, key)
    if client_ca is not None:
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    record = UpstreamRecord()
    server = _Server(context, record)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield RunningUpstream(server.server_address[1], record)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

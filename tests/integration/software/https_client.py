"""One HTTP/1.1 exchange over TLS with a server on 127.0.0.1, verified against a CA file for a server name."""

import base64
import socket
import ssl
from pathlib import Path

LOOPBACK = "127.0.0.1"


def exchange(
    port: int,
    ca_file: Path,
    server_name: str,
    request: bytes,
    *,
    identity: tuple[Path, Path] | None = None,
    timeout: float = 60,
) -> tuple[int, dict[str, str], bytes]:
    """Send `request` (a whole HTTP/1.1 request with `Connection: close`), presenting `identity` (certificate,
    key) when given; returns the status, the headers (lower-case names) and the body, de-chunked."""
    context = ssl.create_default_context(cafile=str(ca_file))
    if identity:
        context.load_cert_chain(str(identity[0]), str(identity[1]))
    with (
        socket.create_connection((LOOPBACK, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        tls.sendall(request)
        response = b""
        while chunk := tls.recv(1 << 16):
            response += chunk
    head, _, body = response.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    if headers.get("transfer-encoding") == "chunked":
        body = unchunk(body)
    return int(status_line.split()[1]), headers, body


def request_bytes(method: str, path: str, host: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def basic_authorization(user: str, password: str) -> str:
    """The value of an HTTP basic-auth Authorization header."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def jar_upload_form(jar: bytes) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a `POST /jars/upload` of `jar` as `big.jar`, as `curl -F jarfile=@big.jar` sends it."""
    boundary = "secure-flink-boundary"
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="jarfile"; filename="big.jar"\r\n'
        "Content-Type: application/x-java-archive\r\n\r\n"
    )
    body = part.encode() + jar + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def unchunk(body: bytes) -> bytes:
    """The payload of an HTTP/1.1 chunked body."""
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2 :]
    return out

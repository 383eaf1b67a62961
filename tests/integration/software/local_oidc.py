"""Single sign-on on 127.0.0.1: Dex (a real OIDC provider, password users in groups) and oauth2-proxy, both built
from their Go modules (`make idp`, into IDP_BIN), with TLS from a throw-away trustme CA, and a browser's login
through them with the standard library.

oauth2-proxy runs with exactly the arguments the program deploys (secure_flink/domain/oauth2_proxy.py); only
the file paths and the listen address are the test's. Each process writes its log to a file in the working dir
and is stopped when its context exits.

    users = (IdpUser("vera@example.com", "vera-password-1", ("flink-viewers",)),)
    with local_sso(idp_binaries(), tmp_path, users, allowed_groups=("flink-viewers",)) as sso:
        browser = Browser(sso.tls.ca_file)
        browser.login(sso.url(sso.site.start_path + "?rd=/etl/"), "vera@example.com", "vera-password-1")
        assert browser.get(sso.url(sso.site.auth_path)).status == 202
"""

import base64
import functools
import http.client
import http.cookiejar
import os
import re
import secrets
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Self

import bcrypt
import trustme
import yaml

from secure_flink.domain.oauth2_proxy import PING_PATH, OAuth2ProxySite, OidcLogin, oauth2_proxy_args
from tests.conftest import unavailable
from tests.integration.software.local_nginx import LOOPBACK, free_port

IDP_BINARIES = ("dex", "oauth2-proxy")
START_SECONDS = 30
STOP_SECONDS = 10
# Dex refuses password hashes below bcrypt's default cost (server/api.go checkCost).
DEX_BCRYPT_COST = 10
CLIENT_ID = "flink-ui"


def idp_binaries() -> Path:
    """IDP_BIN, the directory `make idp` builds dex and oauth2-proxy into; skips without them (fails under CI=true)."""
    configured = os.environ.get("IDP_BIN")
    directory = Path(configured) if configured else None
    missing = [name for name in IDP_BINARIES if directory is None or not (directory / name).is_file()]
    if missing or directory is None:
        unavailable(f"IDP_BIN={configured!r} lacks {', '.join(missing)}: run `make idp` (or `make test`)")
    return directory


@dataclass(frozen=True)
class IdpUser:
    """A Dex password user; Dex logs users in by email."""

    email: str
    password: str
    groups: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.email.partition("@")[0]


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    secret: str
    redirect_uris: tuple[str, ...]


@dataclass(frozen=True)
class ServerTLS:
    """PEM files: a fresh CA, and a certificate (chain) and key for 127.0.0.1 and localhost that it signed."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def loopback_tls(directory: Path) -> ServerTLS:
    ca = trustme.CA()
    leaf = ca.issue_cert(LOOPBACK, "localhost")
    tls = ServerTLS(directory / "ca.pem", directory / "server-chain.pem", directory / "server.key")
    ca.cert_pem.write_to_path(str(tls.ca_file))
    leaf.private_key_pem.write_to_path(str(tls.key_file))
    tls.cert_file.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    return tls


def _write_secret(path: Path, value: str) -> Path:
    """Without a trailing newline: oauth2-proxy reads its secret files verbatim."""
    path.touch(mode=0o600)
    path.write_text(value)
    return path


class _LoopbackHTTPSConnection(http.client.HTTPSConnection):
    """Connects to 127.0.0.1 for the names in `loopback_hosts` (and to anything else as DNS says), and verifies the
    server's certificate for the name the URL gives: what /etc/hosts would do, without touching it."""

    def __init__(
        self, host: str, timeout: float | None = None, *, loopback_hosts: frozenset[str], context: ssl.SSLContext
    ) -> None:
        super().__init__(host, timeout=timeout, context=context)
        self.loopback_hosts, self.tls_context = loopback_hosts, context

    def connect(self) -> None:
        address = LOOPBACK if self.host in self.loopback_hosts else self.host
        raw = socket.create_connection((address, self.port), self.timeout)
        self.sock = self.tls_context.wrap_socket(raw, server_hostname=self.host)


class _LoopbackHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, context: ssl.SSLContext, hosts: Sequence[str]) -> None:
        super().__init__(context=context)
        self.tls_context, self.hosts = context, frozenset(hosts)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = functools.partial(_LoopbackHTTPSConnection, loopback_hosts=self.hosts, context=self.tls_context)
        return self.do_open(connection, req)


def _tls_context(ca_files: Sequence[Path]) -> ssl.SSLContext:
    """Verifies servers against `ca_files` only."""
    context = ssl.create_default_context(cafile=str(ca_files[0]))
    for ca_file in ca_files[1:]:
        context.load_verify_locations(cafile=str(ca_file))
    return context


class _Process:
    """A binary in its own process group, its stdout and stderr in `log_file`; ready when `ready_url` answers 200
    (a host in `hosts` reached on 127.0.0.1)."""

    def __init__(
        self, command: Sequence[str], log_file: Path, ready_url: str, ca_file: Path, hosts: Sequence[str] = ()
    ) -> None:
        self.command, self.log_file, self.ready_url, self.ca_file = list(command), log_file, ready_url, ca_file
        self.hosts = tuple(hosts)
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        opener = urllib.request.build_opener(_LoopbackHTTPSHandler(_tls_context([self.ca_file]), self.hosts))
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command[0]} exited with {self.process.returncode}:\n{self.log()}")
            try:
                with opener.open(self.ready_url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.ready_url} did not answer within {START_SECONDS} s:\n{self.log()}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        """TERM, then KILL of the whole process group if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_SECONDS)

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")


def dex_config(
    issuer: str, port: int, tls: ServerTLS, users: Sequence[IdpUser], client: OAuthClient
) -> dict[str, object]:
    """Dex with in-memory storage, HTTPS on 127.0.0.1:`port` only, its password database holding `users` (bcrypt,
    the lowest cost Dex accepts), and one client; no consent screen."""
    return {
        "issuer": issuer,
        "storage": {"type": "memory"},
        "web": {"https": f"{LOOPBACK}:{port}", "tlsCert": str(tls.cert_file), "tlsKey": str(tls.key_file)},
        "logger": {"level": "info", "format": "text"},
        "oauth2": {"responseTypes": ["code"], "skipApprovalScreen": True},
        "staticClients": [
            {
                "id": client.client_id,
                "name": client.client_id,
                "secret": client.secret,
                "redirectURIs": list(client.redirect_uris),
            }
        ],
        "enablePasswordDB": True,
        "staticPasswords": [
            {
                "email": user.email,
                "username": user.name,
                "preferredUsername": user.name,
                "userID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"mailto:{user.email}")),
                "hash": bcrypt.hashpw(user.password.encode(), bcrypt.gensalt(DEX_BCRYPT_COST)).decode(),
                "groups": list(user.groups),
            }
            for user in users
        ],
    }


class LocalDex(_Process):
    """Dex serving `https://127.0.0.1:<free port>/dex` (`issuer`); enter it to start it."""

    def __init__(self, dex: Path, workdir: Path, tls: ServerTLS, users: Sequence[IdpUser], client: OAuthClient) -> None:
        port = free_port()
        self.issuer = f"https://{LOOPBACK}:{port}/dex"
        config = workdir / "dex.yaml"
        config.touch(mode=0o600)
        config.write_text(yaml.safe_dump(dex_config(self.issuer, port, tls, users, client), sort_keys=False))
        ready = f"{self.issuer}/.well-known/openid-configuration"
        super().__init__([str(dex), "serve", str(config)], workdir / "dex.log", ready, tls.ca_file)


class LocalOAuth2Proxy(_Process):
    """oauth2-proxy with the arguments the program deploys for `login` and `site`; enter it to start it. `site`'s
    files must exist and the provider must answer, or it exits at start."""

    def __init__(self, binary: Path, workdir: Path, login: OidcLogin, site: OAuth2ProxySite, ca_file: Path) -> None:
        self.args = oauth2_proxy_args(login, site)
        ready = f"https://{site.https_address}{PING_PATH}"
        super().__init__([str(binary), *self.args], workdir / "oauth2-proxy.log", ready, ca_file)


class RenderedOAuth2Proxy(_Process):
    """oauth2-proxy with a rendered pod's arguments as given (proxy_from_render.local_sso_arguments lays them out on
    loopback), serving the certificate the stack issued it for `server_name`, at 127.0.0.1:`port`; ready when its
    ping answers over TLS verified against `ca_file` for that name. Enter it to start it."""

    def __init__(
        self, binary: Path, workdir: Path, args: Sequence[str], *, port: int, server_name: str, ca_file: Path
    ) -> None:
        self.args = tuple(args)
        ready = f"https://{server_name}:{port}{PING_PATH}"
        super().__init__([str(binary), *self.args], workdir / "oauth2-proxy.log", ready, ca_file, (server_name,))


@dataclass(frozen=True)
class LocalSSO:
    """Dex and oauth2-proxy, running; what they were configured with, to call them and to search their logs."""

    dex: LocalDex
    proxy: LocalOAuth2Proxy
    login: OidcLogin
    site: OAuth2ProxySite
    tls: ServerTLS
    client: OAuthClient
    cookie_secret: str
    users: tuple[IdpUser, ...]

    def url(self, path: str) -> str:
        """`path` on oauth2-proxy, as the browser-facing URL (scheme, host and port of site.ui_url)."""
        parts = urllib.parse.urlsplit(self.site.ui_url)
        return f"{parts.scheme}://{parts.netloc}{path}"

    def secrets(self) -> dict[str, str]:
        """Every secret the two were given, by what it is: none may ever appear in their logs."""
        passwords = {f"password of {user.email}": user.password for user in self.users}
        return {"client secret": self.client.secret, "cookie secret": self.cookie_secret, **passwords}

    def logs(self) -> dict[str, str]:
        return {"dex": self.dex.log(), "oauth2-proxy": self.proxy.log()}


@contextmanager
def local_sso(
    binaries: Path,
    workdir: Path,
    users: Sequence[IdpUser],
    *,
    allowed_groups: tuple[str, ...],
    path_prefix: str = "/etl/",
) -> Iterator[LocalSSO]:
    """Dex with `users` and one client, then oauth2-proxy in front of it for a UI at `https://127.0.0.1:<port>
    <path_prefix>`, admitting `allowed_groups`; both stopped at exit. Files and logs go to `workdir`."""
    tls = loopback_tls(workdir)
    port = free_port()
    site = OAuth2ProxySite(
        ui_url=f"https://{LOOPBACK}:{port}{path_prefix}",
        https_address=f"{LOOPBACK}:{port}",
        tls_cert_file=str(tls.cert_file),
        tls_key_file=str(tls.key_file),
        client_secret_file=str(workdir / "client-secret"),
        cookie_secret_file=str(workdir / "cookie-secret"),
        trusted_proxies=(LOOPBACK,),
    )
    client = OAuthClient(CLIENT_ID, secrets.token_urlsafe(24), (site.redirect_url,))
    cookie_secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    _write_secret(Path(site.client_secret_file), client.secret)
    _write_secret(Path(site.cookie_secret_file), cookie_secret)
    with ExitStack() as running:
        dex = running.enter_context(LocalDex(binaries / "dex", workdir, tls, users, client))
        login = OidcLogin(
            issuer_url=dex.issuer,
            client_id=client.client_id,
            allowed_groups=allowed_groups,
            provider_ca_file=str(tls.ca_file),
        )
        proxy = running.enter_context(LocalOAuth2Proxy(binaries / "oauth2-proxy", workdir, login, site, tls.ca_file))
        yield LocalSSO(dex, proxy, login, site, tls, client, cookie_secret, tuple(users))


def listening_addresses(pid: int) -> set[tuple[str, int]]:
    """The (IPv4 or IPv6 address, port) pairs process `pid` listens on, from its sockets in /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd) if fd.is_symlink() else ""
        if match := re.fullmatch(r"socket:\[(\d+)\]", target):
            inodes.add(match[1])
    found = set()
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # LISTEN
                address, port = local.split(":")
                raw = bytes.fromhex(address)
                # /proc prints each 32-bit word of the address in host (little-endian) order.
                ordered = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                found.add((socket.inet_ntop(family, ordered), int(port, 16)))
    return found


@dataclass(frozen=True)
class Response:
    status: int
    headers: Message
    body: str


@dataclass(frozen=True)
class Hop:
    """One request of a login: what was asked, the answer, and the cookies it set (raw Set-Cookie values)."""

    method: str
    url: str
    status: int
    set_cookies: tuple[str, ...]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


# Dex's password form: <form method="post" action="...">, with inputs `login` and `password`.
_DEX_FORM = re.compile(r'<form method="post" action="([^"]+)"')


class Browser:
    """What a browser does for a login, with the standard library: follows redirects one at a time, keeps cookies
    (Secure ones only go back over https; Path and expiry honoured), and fills Dex's password form. It trusts
    `ca_files` only, and reaches the names in `hosts` on 127.0.0.1 (verifying certificates for those names)."""

    def __init__(self, *ca_files: Path, hosts: Sequence[str] = ()) -> None:
        self.jar = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(
            _LoopbackHTTPSHandler(_tls_context(ca_files), hosts),
            urllib.request.HTTPCookieProcessor(self.jar),
            _NoRedirect,
        )

    def get(self, url: str, headers: dict[str, str] | None = None) -> Response:
        return self._send(urllib.request.Request(url, headers=headers or {}))

    def _send(self, request: urllib.request.Request) -> Response:
        try:
            response = self._opener.open(request, timeout=30)
        except urllib.error.HTTPError as error:  # 3xx (redirects are not followed), 4xx and 5xx
            response = error
        with response:
            return Response(response.status, response.headers, response.read().decode("utf-8", "replace"))

    def login(self, start_url: str, email: str, password: str) -> list[Hop]:
        """From `start_url` (oauth2-proxy's start), through Dex's form, to the first answer that is neither a
        redirect nor the form; the last hop's status is the outcome (Dex answers a wrong password with 401 and
        the form again, oauth2-proxy a user outside the allowed groups with 403)."""
        hops: list[Hop] = []
        url, data = start_url, None
        while len(hops) < 20:
            response = self._send(urllib.request.Request(url, data=data))
            hops.append(
                Hop(
                    "POST" if data else "GET", url, response.status, tuple(response.headers.get_all("Set-Cookie") or ())
                )
            )
            data = None
            if response.status in (301, 302, 303, 307, 308):
                url = urllib.parse.urljoin(url, response.headers["Location"])
            elif (
                response.status == 200
                and (form := _DEX_FORM.search(response.body))
                and 'name="password"' in response.body
            ):
                url = urllib.parse.urljoin(url, form[1].replace("&amp;", "&"))
                data = urllib.parse.urlencode({"login": email, "password": password}).encode()
            else:
                return hops
        raise AssertionError(f"login did not finish in 20 requests: {[h.url for h in hops]}")

    def cookie(self, name: str) -> http.cookiejar.Cookie | None:
        return next((cookie for cookie in self.jar if cookie.name == name), None)

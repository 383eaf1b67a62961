"""What a TLS endpoint on 127.0.0.1 accepts, asked with `openssl s_client` one protocol or suite at a time."""

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Handshake:
    accepted: bool
    protocol: str | None
    cipher: str | None


def handshake(
    openssl: str,
    port: int,
    *,
    version: str,
    cipher: str | None = None,
    cert: Path | None = None,
    key: Path | None = None,
) -> Handshake:
    """One handshake offering only `version` (tls1_2, tls1_3, ...) and, if given, only `cipher`.

    `cipher` is an OpenSSL TLS 1.2 cipher name or a TLS 1.3 suite name (TLS_...).
    """
    command = [openssl, "s_client", "-connect", f"{LOOPBACK}:{port}", f"-{version}", "-brief"]
    if cipher is not None:
        command += ["-ciphersuites", cipher] if cipher.startswith("TLS_") else ["-cipher", cipher]
    if cert is not None:
        command += ["-cert", str(cert), "-key", str(key)]
    completed = subprocess.run(command, input=b"", capture_output=True, timeout=15)
    text = completed.stderr.decode(errors="replace") + completed.stdout.decode(errors="replace")
    protocol = re.search(r"Protocol version: (\S+)", text)
    suite = re.search(r"Ciphersuite: (\S+)", text)
    accepted = completed.returncode == 0 and protocol is not None and "alert" not in text.lower()
    return Handshake(accepted, protocol.group(1) if protocol else None, suite.group(1) if suite else None)

"""The Java stores JavaStores encodes, read by keytool and used by Java itself for a mutual TLS handshake."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from secure_flink.components.java_stores import KDF_ROUNDS
from tests.conftest import require_tool
from tests.unit.components import test_java_stores
from tests.unit.components.test_java_stores import (
    JAVA_WHY,
    PASSWORD,
    Pki,
    _issue,
    _keystore,
    _new_key,
    java_keystore,
    java_truststore,
)

# The same stores as the unit tests encode and check: their fixtures.
pki = test_java_stores.pki
other_pki = test_java_stores.other_pki


def _openssl_info(pki: Pki, tmp_path: Path) -> subprocess.CompletedProcess:
    """`openssl pkcs12 -info` of a keystore: bag attributes on stdout, encryption parameters on stderr."""
    openssl = require_tool("openssl", "dumps PKCS#12 bag attributes and encryption parameters")
    path = tmp_path / "keystore.p12"
    path.write_bytes(_keystore(pki))
    command = [openssl, "pkcs12", "-info", "-nodes", "-in", str(path), "-passin", f"pass:{PASSWORD}"]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)


def test_key_and_leaf_share_local_key_id_of_leaf_sha1(pki, tmp_path):
    # Java and OpenSSL both fall back to pairing a lone key without localKeyId, so only a dump shows it.
    dump = _openssl_info(pki, tmp_path).stdout
    expected = " ".join(f"{b:02X}" for b in pki.leaf_cert.fingerprint(hashes.SHA1()))
    assert re.findall(r"localKeyID: ([0-9A-F ]+?)\s*$", dump, flags=re.MULTILINE) == [expected, expected]


def test_stores_use_pbes2_aes_256_and_a_sha256_mac(pki, tmp_path):
    # OpenSSL 3's defaults, which Java 17 reads; not the RC2/3DES of older PKCS#12 files.
    dump = _openssl_info(pki, tmp_path).stderr
    scheme = f"PBES2, PBKDF2, AES-256-CBC, Iteration {KDF_ROUNDS}, PRF hmacWithSHA256"
    assert dump.count(scheme) == 2, dump
    assert "MAC: sha256" in dump


def _keytool_list(path: Path, storepass: str) -> subprocess.CompletedProcess:
    command = [require_tool("keytool", JAVA_WHY), "-J-Duser.language=en", "-J-Duser.country=US", "-list", "-v"]
    command += ["-storetype", "PKCS12", "-keystore", str(path), "-storepass", storepass]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def _entry_types(listing: str) -> list[str]:
    return re.findall(r"^Entry type: (\S+)", listing, flags=re.MULTILINE)


@pytest.mark.real
def test_keytool_sees_one_private_key_entry_with_chain_of_two(pki, tmp_path):
    path = tmp_path / "keystore.p12"
    path.write_bytes(_keystore(pki, alias="flink"))
    result = _keytool_list(path, PASSWORD)
    assert result.returncode == 0, result.stderr + result.stdout
    assert _entry_types(result.stdout) == ["PrivateKeyEntry"]
    assert re.findall(r"^Certificate chain length: (\d+)", result.stdout, flags=re.MULTILINE) == ["2"]
    assert "Alias name: flink" in result.stdout


@pytest.mark.real
def test_keytool_sees_every_truststore_certificate_as_trusted(pki, other_pki, tmp_path):
    path = tmp_path / "truststore.p12"
    path.write_bytes(java_truststore(trusted_certificate_pems=[pki.ca_pem, other_pki.ca_pem], password=PASSWORD))
    result = _keytool_list(path, PASSWORD)
    assert result.returncode == 0, result.stderr + result.stdout
    assert _entry_types(result.stdout) == ["trustedCertEntry", "trustedCertEntry"]


@pytest.mark.real
def test_keytool_check_detects_truststore_without_trusted_key_usage(pki, tmp_path):
    # Negative control: a plain OpenSSL-style truststore lacks the Oracle attribute, so Java sees nothing.
    path = tmp_path / "plain.p12"
    encryption = serialization.BestAvailableEncryption(PASSWORD.encode())
    path.write_bytes(pkcs12.serialize_key_and_certificates(None, None, None, [pki.ca_cert], encryption))
    result = _keytool_list(path, PASSWORD)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "Your keystore contains 0 entries" in result.stdout
    assert _entry_types(result.stdout) == []


@pytest.mark.real
def test_keytool_fails_with_wrong_storepass(pki, tmp_path):
    path = tmp_path / "keystore.p12"
    path.write_bytes(_keystore(pki))
    result = _keytool_list(path, "wrong password")
    assert result.returncode != 0
    assert "password was incorrect" in result.stdout + result.stderr


TLS_CHECK_JAVA = r"""
import java.io.*;
import java.net.InetAddress;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.*;

public class TlsCheck {
    static KeyStore load(String path, String password) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = new FileInputStream(path)) { store.load(in, password.toCharArray()); }
        return store;
    }

    public static void main(String[] args) throws Exception {
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(load(args[0], args[1]), args[1].toCharArray());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(load(args[2], args[3]));
        X509TrustManager tm = (X509TrustManager) tmf.getTrustManagers()[0];
        System.out.println("ACCEPTED_ISSUERS=" + tm.getAcceptedIssuers().length);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        InetAddress loopback = InetAddress.getLoopbackAddress();
        var factory = ctx.getServerSocketFactory();
        try (SSLServerSocket server = (SSLServerSocket) factory.createServerSocket(0, 1, loopback)) {
            server.setNeedClientAuth(true);  // mutual TLS, as Flink's internal connectivity uses
            server.setSoTimeout(20000);
            AtomicReference<Throwable> serverError = new AtomicReference<>();
            Thread serverThread = new Thread(() -> {
                try (SSLSocket socket = (SSLSocket) server.accept()) {
                    socket.getOutputStream().write(42);
                    socket.getOutputStream().flush();
                    socket.getInputStream().read();
                } catch (Throwable e) { serverError.set(e); }
            });
            serverThread.setDaemon(true);
            serverThread.start();
            try (SSLSocket client = (SSLSocket) ctx.getSocketFactory().createSocket(loopback, server.getLocalPort())) {
                client.setSoTimeout(20000);
                client.startHandshake();
                int received = client.getInputStream().read();
                client.getOutputStream().write(1);
                client.getOutputStream().flush();
                X509Certificate peer = (X509Certificate) client.getSession().getPeerCertificates()[0];
                serverThread.join(20000);
                if (serverError.get() != null) throw new RuntimeException("server side failed", serverError.get());
                System.out.println("HANDSHAKE_OK protocol=" + client.getSession().getProtocol()
                    + " byte=" + received + " peer=" + peer.getSubjectX500Principal().getName());
            }
        }
    }
}
"""


def _run_tls_check(tmp_path: Path, keystore: bytes, truststore: bytes) -> subprocess.CompletedProcess:
    java = require_tool("java", JAVA_WHY)
    source = tmp_path / "TlsCheck.java"
    source.write_text(TLS_CHECK_JAVA)
    (tmp_path / "keystore.p12").write_bytes(keystore)
    (tmp_path / "truststore.p12").write_bytes(truststore)
    command = [
        java,
        str(source),
        str(tmp_path / "keystore.p12"),
        PASSWORD,
        str(tmp_path / "truststore.p12"),
        "trust-pw",
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.mark.real
def test_java_completes_mutual_tls_handshake_with_rendered_stores(pki, tmp_path):
    truststore = java_truststore(trusted_certificate_pems=[pki.ca_pem], password="trust-pw")
    result = _run_tls_check(tmp_path, _keystore(pki), truststore)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "ACCEPTED_ISSUERS=1" in result.stdout
    assert "HANDSHAKE_OK" in result.stdout
    assert f"byte=42 peer={pki.leaf_cert.subject.rfc4514_string()}" in result.stdout


@pytest.mark.real
def test_java_handshake_check_fails_when_truststore_holds_unrelated_ca(pki, other_pki, tmp_path):
    # Negative control: proves the handshake check above can fail.
    truststore = java_truststore(trusted_certificate_pems=[other_pki.ca_pem], password="trust-pw")
    result = _run_tls_check(tmp_path, _keystore(pki), truststore)
    assert result.returncode != 0
    assert "ACCEPTED_ISSUERS=1" in result.stdout
    assert "HANDSHAKE_OK" not in result.stdout
    assert "SSLHandshakeException" in result.stderr


@pytest.mark.real
def test_java_completes_mutual_tls_with_self_signed_certificate_trusted_directly(tmp_path):
    # Flink's internal connectivity trusts its own self-signed certificate rather than a CA.
    key = _new_key("ec-p256")
    cert = _issue("internal", key.public_key(), "internal", key, is_ca=False)
    pki = Pki(key, cert, key, cert)
    keystore = java_keystore(
        private_key_pem=pki.leaf_key_pem, certificate_chain_pems=[pki.leaf_pem], password=PASSWORD, alias="internal"
    )
    truststore = java_truststore(trusted_certificate_pems=[pki.leaf_pem], password="trust-pw", aliases=["internal"])
    result = _run_tls_check(tmp_path, keystore, truststore)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "ACCEPTED_ISSUERS=1" in result.stdout
    assert "HANDSHAKE_OK" in result.stdout

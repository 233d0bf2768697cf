"""The API server's TLS certificate: the configured one, else one generated once and kept in the work dir.

As in Kuma: ``KUMA_API_SERVER_HTTPS_TLS_CERT_FILE``/``_KEY_FILE``, else ``KUMA_GENERAL_TLS_CERT_FILE``/
``_KEY_FILE``, else ``<workDir>/kuma-cp.crt`` and ``kuma-cp.key`` (workDir defaults to ``$HOME/.kuma``),
reused when present and generated otherwise: a self-signed RSA-2048 certificate for 10 years, valid for
this host's name, ``localhost``, 127.0.0.1 and ::1. The directory is 0700 and the key 0600. A generated
certificate is not shared between control-plane instances: give them one with the settings above.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kuma_cp.config import Config

__all__ = ["server_credentials"]

log = logging.getLogger("kuma-cp.tls")


def _generate(cert_path: Path, key_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    hostname = socket.gethostname()
    names: list[x509.GeneralName] = [x509.DNSName(hostname), x509.DNSName("localhost")]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", "::1")]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as key_file:
        key_file.write(key_pem)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    log.info(
        "generated a self-signed TLS certificate in %s; it is not shared with other control-plane instances: "
        "set KUMA_GENERAL_TLS_CERT_FILE and KUMA_GENERAL_TLS_KEY_FILE to use your own",
        cert_path,
    )


def server_credentials(config: Config) -> tuple[str, str]:
    """The (certificate, key) files the HTTPS API serves, generating them on first use."""
    https, general = config.api_server.https, config.general
    if https.tls_cert_file:
        return https.tls_cert_file, https.tls_key_file
    if general.tls_cert_file and general.tls_key_file:
        return general.tls_cert_file, general.tls_key_file
    work_dir = Path(general.work_dir or Path.home() / ".kuma")
    work_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    cert_path, key_path = work_dir / "kuma-cp.crt", work_dir / "kuma-cp.key"
    reusable = (
        cert_path.is_file() and key_path.is_file() and cert_path.stat().st_size and key_path.stat().st_size
    )
    if not reusable:
        _generate(cert_path, key_path)
    return str(cert_path), str(key_path)

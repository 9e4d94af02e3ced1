"""TLS for the local RDS Proxy: the local cloud's own certificate authority and the proxies' certificates.

On AWS, RDS Proxy's certificates come from ACM and chain to Amazon's root CAs, which every Lambda
runtime already trusts. Locally, a CA made once per state folder plays Amazon's roots
(`ca/local-root-ca.pem`); each proxy gets a certificate for its endpoint names signed by it, and
the Lambda execution environments trust it next to the system's CAs (`ca/trust-bundle.pem`, given
to them as SSL_CERT_FILE), so a function that verifies the proxy's certificate and host name works
on both targets unchanged.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "Local Cloud Root CA (the lab's stand-in for Amazon's root CAs)"
VALID_DAYS = 825


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes, private: bool = False) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    if private:
        os.chmod(tmp, 0o600)
    os.replace(tmp, path)


class CertificateAuthority:
    """The local CA of one state folder (`<root>/ca/`), made on first use."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.cert_path = self.folder / "local-root-ca.pem"
        self.key_path = self.folder / "local-root-ca.key"
        self.bundle_path = self.folder / "trust-bundle.pem"

    def ensure(self) -> CertificateAuthority:
        if not (self.cert_path.is_file() and self.key_path.is_file()):
            self.folder.mkdir(parents=True, exist_ok=True)
            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
            now = dt.datetime.now(dt.UTC)
            cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                    .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
                    .not_valid_after(now + dt.timedelta(days=3650))
                    .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                    .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                 content_commitment=False, key_encipherment=False,
                                                 data_encipherment=False, key_agreement=False,
                                                 encipher_only=False, decipher_only=False), critical=True)
                    .sign(key, hashes.SHA256()))
            _write(self.key_path, _key_pem(key), private=True)
            _write(self.cert_path, cert.public_bytes(serialization.Encoding.PEM))
        if not self.bundle_path.is_file():
            system = ssl.get_default_verify_paths().cafile
            system_pem = Path(system).read_bytes() if system and Path(system).is_file() else b""
            _write(self.bundle_path, system_pem + b"\n" + self.cert_path.read_bytes())
        return self

    def issue(self, name: str, hostnames: list[str], folder: Path, loopback: bool = True) -> tuple[Path, Path]:
        """A server certificate for `hostnames` (and, with `loopback`, localhost and 127.0.0.1), signed by the
        CA: the (certificate chain, key) files."""
        self.ensure()
        ca_key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
        if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{self.key_path} is not the EC key this CA makes; remove its folder to make a new CA")
        ca_cert = x509.load_pem_x509_certificate(self.cert_path.read_bytes())
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        names: list[x509.GeneralName] = [x509.DNSName(h) for h in dict.fromkeys(hostnames)]
        if loopback:
            names += [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name[:64])]))  # names: in the SANs
                .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=VALID_DAYS))
                .add_extension(x509.SubjectAlternativeName(names), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        folder.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
        _write(key_path, _key_pem(key), private=True)
        _write(cert_path, cert.public_bytes(serialization.Encoding.PEM) + self.cert_path.read_bytes())
        return cert_path, key_path


def server_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    """The TLS context a proxy serves with (TLS 1.2 or newer, as RDS Proxy)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    return context

"""An ACME CA for tests: Pebble (Let's Encrypt's test server, built by
scripts/install-test-deps.sh --compose), alone in a scratch image, on a
compose project's network; and what a client checks of the certificate a
server presents.

Pebble's own HTTPS listener gets a certificate from a CA the test makes
(`ListenerCA`): certbot trusts that CA (ACME_CA_BUNDLE), the test reads
Pebble's management port with it. The certificates Pebble issues chain to a
root it makes at every start (`Pebble.root()`), which the test trusts.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.image import podman, podman_env
from tests.support.tools import ROOT, TOOLS_BIN, missing

PEBBLE_VERSION = "v2.10.3"  # scripts/install-test-deps.sh pins the same
PEBBLE_IMAGE = f"localhost/streamlit-template-pebble:{PEBBLE_VERSION}"
PEBBLE_HINT = "scripts/install-test-deps.sh --compose (builds the pinned Pebble with Go)"
ACME_PORT, MANAGEMENT_PORT = 14000, 15000


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _usage(**allowed: bool) -> x509.KeyUsage:
    """Key usage with only `allowed` set (Python 3.13's strict verification wants
    the extensions a public CA's certificates have: usage, key identifiers)."""
    flags = dict.fromkeys(
        ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
         "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"),
        False,
    )  # fmt: skip
    if allowed.pop("cert_sign", False):
        flags.update(key_cert_sign=True, crl_sign=True)
    return x509.KeyUsage(**{**flags, **allowed})


def _pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@dataclass
class ListenerCA:
    """A CA of the test's own and a certificate from it for Pebble's listener."""

    ca: Path  # the CA's certificate (PEM): what certbot and the test trust
    cert: Path
    key: Path

    @classmethod
    def make(cls, folder: Path, names: list[str]) -> ListenerCA:
        now = datetime.datetime.now(datetime.UTC)
        ca_key, key = (
            ec.generate_private_key(ec.SECP256R1()),
            ec.generate_private_key(ec.SECP256R1()),
        )
        ca = (
            x509.CertificateBuilder().subject_name(_name("test listener CA"))
            .issuer_name(_name("test listener CA")).public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_usage(cert_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
            .sign(ca_key, hashes.SHA256())
        )  # fmt: skip
        authority = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
        alt = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        cert = (
            x509.CertificateBuilder().subject_name(_name(names[0])).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(_usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(authority, critical=False)
            .sign(ca_key, hashes.SHA256())
        )  # fmt: skip
        found = cls(folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
        found.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        found.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        found.key.write_bytes(_pem(key))
        return found


def pebble_image() -> str:
    """The scratch image holding the pinned Pebble (built once, kept like the stand-ins)."""
    binary = TOOLS_BIN / "pebble"
    if not binary.exists():
        missing("pebble (the pinned ACME test server)", PEBBLE_HINT)
    built = subprocess.run(
        [str(ROOT / "cluster/images.sh"), "--scratch", PEBBLE_IMAGE, str(binary.resolve())],
        env=podman_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    return PEBBLE_IMAGE


@dataclass
class Pebble:
    name: str
    management_port: int  # published on 127.0.0.1
    listener: ListenerCA

    @classmethod
    def start(cls, name: str, network: str, alias: str, listener: ListenerCA,
              hosts: dict[str, str], http_port: int, validity: int,
              management_port: int) -> Pebble:  # fmt: skip
        """Pebble on `network` as `alias` (which `listener`'s certificate names),
        resolving each of `hosts` to its address (the DNS a real CA would ask),
        validating http-01 on `http_port`, issuing certificates valid for
        `validity` seconds. Remove it with `stop()`."""
        folder = listener.cert.parent
        config = {
            "pebble": {
                "listenAddress": f"0.0.0.0:{ACME_PORT}",
                "managementListenAddress": f"0.0.0.0:{MANAGEMENT_PORT}",
                "certificate": "/etc/pebble/cert.pem",
                "privateKey": "/etc/pebble/key.pem",
                "httpPort": http_port,
                "tlsPort": 5001,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
                "keyAlgorithm": "ecdsa",
                "profiles": {"default": {"description": "short-lived", "validityPeriod": validity}},
            }
        }
        (folder / "config.json").write_text(json.dumps(config))
        image = pebble_image()
        podman(
            "run", "--detach", "--name", name, "--network", network, "--network-alias", alias,
            *(f"--add-host={host}:{address}" for host, address in hosts.items()),
            "--publish", f"127.0.0.1:{management_port}:{MANAGEMENT_PORT}",
            "--volume", f"{folder}:/etc/pebble:ro",
            # Answer at once, and never refuse a good nonce (Pebble's defaults
            # test a client's retries; this test is about the server).
            "--env", "PEBBLE_VA_NOSLEEP=1", "--env", "PEBBLE_WFE_NONCEREJECT=0",
            image, "-config", "/etc/pebble/config.json",
        )  # fmt: skip
        return cls(name, management_port, listener)

    def root(self) -> str:
        """The root Pebble's certificates chain to (PEM), made at its start."""
        response = requests.get(
            f"https://127.0.0.1:{self.management_port}/roots/0",
            verify=str(self.listener.ca), timeout=10,
        )  # fmt: skip
        response.raise_for_status()
        return response.text

    def stop(self) -> None:
        podman("rm", "--force", "--time", "5", self.name, check=False)


def presented(port: int, server_name: str, root_pem: str, **tls) -> x509.Certificate | None:
    """The certificate 127.0.0.1:`port` presents for `server_name`, if its chain
    verifies to `root_pem` and it names `server_name`; None otherwise (not up
    yet, the placeholder, another CA). `tls` sets the client's TLS bounds:
    minimum_version, maximum_version, ciphers."""
    context = ssl.create_default_context(cadata=root_pem)
    with warnings.catch_warnings():  # TLS 1.1, deprecated, offered on purpose
        warnings.simplefilter("ignore", DeprecationWarning)
        for attribute in ("minimum_version", "maximum_version"):
            if attribute in tls:
                setattr(context, attribute, tls[attribute])
    if "ciphers" in tls:
        context.set_ciphers(tls["ciphers"])
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname=server_name) as wrapped,
        ):
            return x509.load_der_x509_certificate(wrapped.getpeercert(binary_form=True))
    except (ssl.SSLError, ssl.CertificateError, OSError):
        return None

"""The production profile on one server, as docker/README.md's production
section starts it (`make up` with STACK=production in .env): nginx terminates
TLS with a certificate certbot obtains from an ACME CA, here Pebble (Let's
Encrypt's test server) on the project's network, and renews while it is
short-lived; port 80 redirects to HTTPS but for the ACME challenge and
/healthz; a person signs in in headless Chromium that trusts Pebble's root,
with the production cookie settings (oauth2-proxy's __Host- cookie, Secure).

The tests run in file order on one stack: the renewal comes last, once the
first certificate has been seen.
"""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import urllib3
from cryptography import x509

from tests.compose.conftest import CERT_SECONDS, DOMAIN, IDP_HOST, PERSON, Production
from tests.support import browser
from tests.support.acme import presented
from tests.support.tools import require_tool, wait_until

FIRST_SERIAL: list[int] = []  # the first certificate Pebble issued, seen by the first test


def issued(production: Production) -> x509.Certificate | None:
    return presented(production.https_port, DOMAIN, production.root)


def test_nginx_serves_a_certificate_the_acme_ca_issued(production: Production):
    # make up returned with certbot's self-signed placeholder in place; the CA's
    # certificate follows once Pebble answers (certbot tries every 5 s here).
    cert = wait_until(
        lambda: issued(production), "a certificate from Pebble on the HTTPS port", 120
    )
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [DOMAIN]
    assert cert.issuer != cert.subject  # Pebble's intermediate, served in the chain
    FIRST_SERIAL.append(cert.serial_number)


def https(production: Production) -> urllib3.HTTPSConnectionPool:
    return urllib3.HTTPSConnectionPool(
        "127.0.0.1", production.https_port, server_hostname=DOMAIN, assert_hostname=DOMAIN,
        ca_cert_data=production.root, retries=False, timeout=30,
    )  # fmt: skip


def plain(production: Production) -> urllib3.HTTPConnectionPool:
    return urllib3.HTTPConnectionPool("127.0.0.1", production.http_port, retries=False, timeout=30)


def test_port_80_redirects_to_https_but_for_the_challenge_and_health(production: Production):
    http = plain(production)
    redirected = http.request("GET", "/_platform?x=1", headers={"Host": DOMAIN}, redirect=False)
    assert redirected.status == 301
    assert redirected.headers["Location"] == f"https://{DOMAIN}/_platform?x=1"
    assert "Strict-Transport-Security" not in redirected.headers  # never over plain HTTP
    # The CA's path is answered here (a token certbot did not write: 404, not a redirect).
    challenge = http.request("GET", "/.well-known/acme-challenge/none", headers={"Host": DOMAIN})
    assert challenge.status == 404
    assert http.request("GET", "/healthz", headers={"Host": DOMAIN}).status == 200


def test_https_answers_with_hsts(production: Production):
    answer = https(production).request("GET", "/healthz", headers={"Host": DOMAIN})
    assert answer.status == 200
    assert answer.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    signed_out = https(production).request("GET", "/", headers={"Host": DOMAIN}, redirect=False)
    assert signed_out.status == 302  # to sign-in, with HSTS as on every answer
    assert "Strict-Transport-Security" in signed_out.headers


def test_tls_follows_mozillas_intermediate_profile(production: Production):
    port, root = production.https_port, production.root
    tls13 = presented(port, DOMAIN, root, minimum_version=ssl.TLSVersion.TLSv1_3)
    tls12 = presented(
        port, DOMAIN, root, maximum_version=ssl.TLSVersion.TLSv1_2,
        ciphers="ECDHE-ECDSA-AES128-GCM-SHA256",
    )  # fmt: skip
    assert tls13
    assert tls12
    # What the profile leaves out, offered by a client that allows it: refused.
    cbc = "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0"  # no AEAD
    for refused in (
        {"maximum_version": ssl.TLSVersion.TLSv1_1, "minimum_version": ssl.TLSVersion.TLSv1_1,
         "ciphers": cbc},
        {"maximum_version": ssl.TLSVersion.TLSv1_2, "ciphers": cbc},
    ):  # fmt: skip
        assert presented(port, DOMAIN, root, **refused) is None, refused


def trusting_home(home: Path, root_pem: str) -> Path:
    """A HOME whose NSS database (Chromium's trust store on Linux) trusts Pebble's root."""
    certutil = require_tool(
        "certutil", "apt-get install libnss3-tools (scripts/install-test-deps.sh --compose)"
    )
    nssdb = home / ".pki/nssdb"
    nssdb.mkdir(parents=True)
    (home / "pebble-root.pem").write_text(root_pem)
    for args in (
        ["-N", "--empty-password"],
        ["-A", "-n", "pebble-root", "-t", "C,,", "-i", str(home / "pebble-root.pem")],
    ):
        subprocess.run([certutil, "-d", f"sql:{nssdb}", *args], check=True, timeout=60)
    return home


def test_a_person_signs_in_over_https_with_the_production_cookies(production: Production, tmp_path):
    home = trusting_home(tmp_path / "home", production.root)
    # The two public names resolve to loopback, where their ports are published.
    rules = f"--host-resolver-rules=MAP {DOMAIN} 127.0.0.1, MAP {IDP_HOST} 127.0.0.1"
    with browser.launch(tmp_path / "profile", (rules,), env={"HOME": str(home)}) as page:
        browser.sign_in(page, production.url, PERSON)
        shown = browser.check_again(page)  # a rerun over the WebSocket, through TLS
        assert shown["user"] == PERSON
        assert shown["database"] == "ok (postgresql)"
        cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["__Host-session"]  # oauth2-proxy.cfg's name, unchanged
    assert session["secure"]
    assert session["httpOnly"]
    assert session["path"] == "/"
    assert cookies["route"]["secure"]  # nginx adds Secure where it terminates TLS
    assert cookies["_streamlit_xsrf"]["secure"]


def test_the_short_lived_certificate_is_renewed_and_served(production: Production):
    assert FIRST_SERIAL, "the first test saw no certificate"

    def renewed() -> x509.Certificate | None:
        cert = issued(production)
        return cert if cert and cert.serial_number != FIRST_SERIAL[0] else None

    # Due at half its life (certbot's rule for certificates under 10 days, or
    # earlier in ARI's window); nginx reloads on the change.
    cert = wait_until(renewed, "a renewed certificate on the HTTPS port", CERT_SECONDS * 3)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [DOMAIN]

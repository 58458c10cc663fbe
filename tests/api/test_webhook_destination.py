"""The webhook destination check pins the address it checked.

A name whose DNS answer changes between the check and the connection (DNS rebinding) must not
lead the worker to the second answer. No DNS server of ours runs here, so a stub stands in for
the system resolver (``socket.getaddrinfo``), answering the name differently after its first
lookup; the receivers are real servers on loopback addresses.
"""

from __future__ import annotations

import datetime
import socket
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from portal.outbox import delivery
from portal.outbox.events import emit
from tests.api.receiver import Receiver
from tests.factories import AccountFactory, BorrowerFactory

NAME = "hooks.lender.test"


@pytest.fixture
def rebinding_resolver(monkeypatch):
    """``NAME`` resolves to the first address once, to the second ever after."""
    real = socket.getaddrinfo
    answers: list[str] = []

    def stub(host, port, *args, **kwargs):
        if host != NAME:
            return real(host, port, *args, **kwargs)
        address = resolver.first if not answers else resolver.later
        answers.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    class resolver:  # noqa: N801 - a namespace
        first = "127.0.0.1"
        later = "127.0.0.2"
        lookups = answers

    monkeypatch.setattr(socket, "getaddrinfo", stub)
    return resolver


def test_the_checked_public_address_is_the_one_connected_to(rebinding_resolver):
    rebinding_resolver.first, rebinding_resolver.later = "93.184.216.34", "127.0.0.1"
    destination = delivery.check_destination(f"https://{NAME}/portal-events?x=1", allow_private=False)
    assert rebinding_resolver.lookups == ["93.184.216.34"]  # one lookup, checked
    assert destination.url == "https://93.184.216.34/portal-events?x=1"
    assert destination.host_header == NAME and destination.server_hostname == NAME


def tls_for(name: str, tmp_path) -> tuple[ssl.SSLContext, str]:
    """A server context with a self-signed certificate for ``name``, and the CA file to trust."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, str(cert_file)


def test_a_delivery_goes_to_the_checked_address_with_the_name_for_tls(
    app, db, lender, make_client, rebinding_resolver, tmp_path, monkeypatch
):
    context, ca_file = tls_for(NAME, tmp_path)
    lender_side = Receiver(host="127.0.0.1", tls=context)
    elsewhere = Receiver(host="127.0.0.2", port=lender_side.port, tls=context)
    try:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_file)
        client, _ = make_client(webhook_url=f"https://{NAME}:{lender_side.port}/hooks")
        lender_side.secret = client.webhook_secret
        account = AccountFactory(borrower=BorrowerFactory(lender=lender))
        emit("payment.succeeded", lender_id=lender.id, account=account, data={"n": 1})
        db.session.commit()
        assert delivery.deliver_due().delivered == 1
        assert [e["data"]["n"] for e in lender_side.received] == [1]
        assert lender_side.bad_signatures == 0
        # The name travelled in the Host header (and TLS's SNI: the certificate is for the name).
        assert lender_side.hosts == [f"{NAME}:{lender_side.port}"]
        assert elsewhere.received == []
        assert rebinding_resolver.lookups == ["127.0.0.1"]  # resolved once, by the check
    finally:
        lender_side.stop()
        elsewhere.stop()

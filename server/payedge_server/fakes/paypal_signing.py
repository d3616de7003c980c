"""PayPal webhook signatures: the fake's own key pair and self-signed certificate.

PayPal signs ``transmission_id|transmission_time|webhook_id|crc32(raw body)`` (the CRC32
as an unsigned decimal) with RSA PKCS#1 v1.5 over SHA-256 ("SHA256withRSA") and names
the certificate holding the public key in ``PAYPAL-CERT-URL``. The fake makes a fresh
key and certificate at start and serves the certificate on its own port, so a gateway
that only fetches certificates from allowed hosts can be pointed at the fake's host.
"""

from __future__ import annotations

import base64
import datetime
import secrets
import zlib

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

AUTH_ALGO = "SHA256withRSA"


def signed_string(transmission_id: str, transmission_time: str, webhook_id: str, body: bytes) -> bytes:
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body)}".encode()


class Signer:
    """A 2048-bit RSA key and a self-signed certificate valid for a day either side of now."""

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "payedge fakes"),
                x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts.fake.paypal"),
            ]
        )
        now = datetime.datetime.now(datetime.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .sign(self._key, hashes.SHA256())
        )
        self.cert_pem = self.certificate.public_bytes(serialization.Encoding.PEM)
        # PayPal's certificate names look like CERT-360caa42-fca2a594-bc2ae53b.
        self.cert_name = "CERT-" + "-".join(secrets.token_hex(4) for _ in range(3))

    def sign(self, transmission_id: str, transmission_time: str, webhook_id: str, body: bytes) -> str:
        message = signed_string(transmission_id, transmission_time, webhook_id, body)
        signature = self._key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()

    def verify(self, signature_b64: str, message: bytes) -> bool:
        try:
            signature = base64.b64decode(signature_b64, validate=True)
            self._key.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True

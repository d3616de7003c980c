"""PayPal's webhook certificates: fetched only from allowed places, cached, used to verify signatures.

PayPal signs `transmission_id|transmission_time|webhook_id|crc32(raw body)` (the
CRC32 as an unsigned decimal) with RSA PKCS#1 v1.5 over SHA-256 and names the
X.509 certificate of the key in `PAYPAL-CERT-URL`
(developer.paypal.com/api/rest/webhooks/rest, "verify the signature offline").
A header anyone can write must not make payedge fetch from anywhere: the URL is
used only when its origin (scheme, host, port) is a configured one (PayPal's own
hosts over https by default) and its path is PayPal's certificate path, or when it
is the one exact URL configured (`--paypal-cert-url`: the fakes serve theirs over
http on loopback). A certificate is kept (16 at most) until it expires, a day at most.

The chain is not checked: the certificate comes over TLS from PayPal's own host,
which is what makes it PayPal's (the fakes' certificate is self-signed).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime
import time
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from payedge_server.gateways.base import GatewayError, WebhookRejectedError
from payedge_server.gateways.http import ProviderHttp

CERT_PATH = "/v1/notifications/certs/"
HEADER = "PAYPAL-CERT-URL"
KEEP = 86400.0
MAX_CERTS = 16


_PORTS = {"https": 443, "http": 80}


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL without credentials; None otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _PORTS or not parts.hostname or parts.username is not None:
        return None
    return parts.scheme, parts.hostname.lower(), port or _PORTS[parts.scheme]


def signed_message(transmission_id: str, transmission_time: str, webhook_id: str, body: bytes) -> bytes:
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body)}".encode()


def _refused(message: str) -> WebhookRejectedError:
    return WebhookRejectedError("invalid_signature", message, HEADER)


class Certificates:
    def __init__(self, http: ProviderHttp, origins: Sequence[str], exact_url: str | None) -> None:
        self.http = http
        self.origins = frozenset(filter(None, (_origin(o) for o in origins)))
        self.exact_url = exact_url
        self._keys: OrderedDict[str, tuple[rsa.RSAPublicKey, float]] = OrderedDict()
        self._lock = asyncio.Lock()

    def why_not(self, url: str) -> str | None:
        """Why payedge will not fetch a certificate from `url`, or None when it may."""
        if self.exact_url is not None and url == self.exact_url:
            return None
        origin = _origin(url)
        if origin is None:
            return "PAYPAL-CERT-URL is not an http(s) URL"
        if origin not in self.origins:
            return "PAYPAL-CERT-URL is not on an allowed PayPal certificate origin (scheme, host, port)"
        parts = urlsplit(url)
        if not parts.path.startswith(CERT_PATH) or parts.query or parts.fragment:
            return "PAYPAL-CERT-URL is not a PayPal certificate path"
        return None

    async def key(self, url: str) -> rsa.RSAPublicKey:
        why = self.why_not(url)
        if why is not None:
            raise _refused(why)
        found = self._keys.get(url)
        if found is not None and found[1] > time.time():
            return found[0]
        async with self._lock:
            found = self._keys.get(url)
            if found is not None and found[1] > time.time():
                return found[0]
            key, until = await self._fetch(url)
            self._keys[url] = (key, until)
            while len(self._keys) > MAX_CERTS:
                self._keys.popitem(last=False)
            return key

    async def _fetch(self, url: str) -> tuple[rsa.RSAPublicKey, float]:
        try:
            reply = await self.http.send("GET", url, write=False)
        except GatewayError as exc:
            raise WebhookRejectedError(
                "gateway_unavailable", f"PayPal's certificate cannot be fetched now: {exc}", HEADER
            ) from None
        if reply.status != 200:
            raise _refused(f"PAYPAL-CERT-URL answered {reply.status}")
        try:
            cert = x509.load_pem_x509_certificate(reply.body)
        except ValueError:
            raise _refused("PAYPAL-CERT-URL is not a PEM certificate") from None
        now = datetime.datetime.now(datetime.UTC)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise _refused("PayPal's certificate is not valid now")
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise _refused("PayPal's certificate does not hold an RSA key")
        return key, min(cert.not_valid_after_utc.timestamp(), time.time() + KEEP)


def verify(key: rsa.RSAPublicKey, signature_b64: str, message: bytes) -> None:
    """Raise WebhookRejectedError unless `signature_b64` is the key's signature of `message`."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        raise WebhookRejectedError(
            "invalid_signature", "the PayPal signature does not match", "PAYPAL-TRANSMISSION-SIG"
        ) from None

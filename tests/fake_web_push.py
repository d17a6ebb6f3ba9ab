"""A fake Web Push service: a real HTTP server on 127.0.0.1 that checks what a push service checks and reads
what a browser reads, with its own code (cryptography's HKDF, not the bot's).

`subscription(name)` makes a browser's side: a P-256 key pair and an auth secret, and the PushSubscription
JSON (`toJSON()`) with the endpoint `<url>/push/<name>`. Every POST there is checked: the VAPID
Authorization (RFC 8292: `vapid t=<JWT>, k=<key>`, the ES256 signature verified with the key of `k=`,
`aud` the endpoint's origin, `exp` in the future and within 24 h, `sub` a mailto: or https: contact),
the TTL, Urgency, Content-Encoding: aes128gcm headers, and the body is DECRYPTED with the subscription's
private key (RFC 8291/8188), so a test asserts the plaintext the browser would show. A request that fails
a check is answered 400 and listed in `problems`. `answer(name, status, retry_after=…)` scripts the next
answers (default 201); `hold(name)` keeps the next request unanswered until `release()`.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

URGENCIES = ("very-low", "low", "normal", "high")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def decrypt(body: bytes, private: ec.EllipticCurvePrivateKey, auth: bytes) -> bytes:
    """What the browser does with an aes128gcm push message (one record)."""
    salt, (rs, idlen) = body[:16], struct.unpack("!IB", body[16:21])
    sender = body[21:21 + idlen]
    record = body[21 + idlen:]
    if idlen != 65 or rs < 18 or len(record) > rs:
        raise ValueError(f"bad aes128gcm header (rs={rs}, idlen={idlen}, record={len(record)})")
    ua_public = private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    shared = private.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender))
    ikm = _hkdf(auth, shared, b"WebPush: info\x00" + ua_public + sender, 32)
    cek = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
    nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
    padded = AESGCM(cek).decrypt(nonce, record, None).rstrip(b"\x00")
    if not padded.endswith(b"\x02"):
        raise ValueError("the only record does not end with the last-record delimiter 0x02")
    return padded[:-1]


def verify_vapid(authorization: str, audience: str, server_key: str | None) -> dict:
    """The JWT's claims; ValueError naming what is wrong."""
    scheme, _, params = authorization.partition(" ")
    if scheme.lower() != "vapid":
        raise ValueError(f"Authorization scheme {scheme!r}, not vapid")
    fields = dict(part.strip().split("=", 1) for part in params.split(",") if "=" in part)
    token, key = fields.get("t", ""), fields.get("k", "")
    if server_key is not None and key != server_key:
        raise ValueError("k= is not the server's VAPID public key")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(key))
    header_b64, claims_b64, signature_b64 = token.split(".")
    header = json.loads(unb64(header_b64))
    if header.get("alg") != "ES256" or header.get("typ", "JWT") != "JWT":
        raise ValueError(f"JWT header {header}")
    signature = unb64(signature_b64)
    if len(signature) != 64:
        raise ValueError("ES256 signature must be 64 bytes (r || s)")
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    try:
        public.verify(encode_dss_signature(r, s), f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise ValueError("the VAPID signature does not verify with the k= key") from None
    claims = json.loads(unb64(claims_b64))
    if claims.get("aud") != audience:
        raise ValueError(f"aud {claims.get('aud')!r}, expected {audience!r}")
    if not (time.time() < claims.get("exp", 0) <= time.time() + 24 * 3600):
        raise ValueError(f"exp {claims.get('exp')} not within the next 24 hours")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https://")):
        raise ValueError(f"sub {claims.get('sub')!r}")
    return claims


@dataclass
class Browser:
    name: str
    private: ec.EllipticCurvePrivateKey
    auth: bytes
    endpoint: str

    def json(self) -> dict:
        public = self.private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "expirationTime": None, "keys": {"p256dh": b64(public), "auth": b64(self.auth)}}


@dataclass
class Received:
    name: str
    at: float
    status: int
    headers: dict
    message: dict | None = None  # the decrypted JSON
    claims: dict = field(default_factory=dict)


class FakeWebPush:
    def __init__(self, server_key: str | None = None) -> None:
        self.server_key = server_key  # the bot's VAPID public key, when the test knows it
        self.browsers: dict[str, Browser] = {}
        self.received: list[Received] = []  # every request, in order (refused and failed ones too)
        self.problems: list[str] = []
        self._answers: dict[str, deque] = defaultdict(deque)
        self._held: set[str] = set()
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):  # noqa: N802
                fake._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "FakeWebPush":
        self._thread.start()
        return self

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    def subscription(self, name: str) -> dict:
        browser = Browser(name, ec.generate_private_key(ec.SECP256R1()), os.urandom(16), f"{self.url}/push/{name}")
        self.browsers[name] = browser
        return browser.json()

    def answer(self, name: str, status: int, retry_after: str | None = None, times: int = 1) -> None:
        for _ in range(times):
            self._answers[name].append((status, retry_after))

    def hold(self, name: str) -> None:
        self._held.add(name)

    def release(self) -> None:
        self._release.set()

    def delivered(self, name: str | None = None) -> list[Received]:
        """The requests answered 2xx (to `name`)."""
        with self._lock:
            return [r for r in self.received if 200 <= r.status < 300 and (name is None or r.name == name)]

    def requests(self, name: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.received if name is None or r.name == name]

    def wait(self, count: int, name: str | None = None, timeout: float = 15.0, delivered: bool = True) -> list[Received]:
        """Block until `count` requests (2xx ones by default) to `name` arrived; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = [r for r in self.received if (name is None or r.name == name)
                         and (not delivered or 200 <= r.status < 300)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                assert left > 0, f"{len(found)} of {count} push requests arrived; problems: {self.problems}"
                self._arrived.wait(left)

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        name = request.path.removeprefix("/push/")
        length = int(request.headers.get("Content-Length", "0"))
        body = request.rfile.read(length)
        headers = {k.lower(): v for k, v in request.headers.items()}
        received = Received(name, time.monotonic(), 0, headers)
        try:
            browser = self.browsers.get(name)
            if browser is None:
                raise ValueError(f"no subscription {name!r}")
            received.claims = verify_vapid(headers.get("authorization", ""), self.url, self.server_key)
            if not headers.get("ttl", "").isdigit():
                raise ValueError(f"TTL header {headers.get('ttl')!r}")
            if headers.get("urgency", "normal") not in URGENCIES:
                raise ValueError(f"Urgency header {headers.get('urgency')!r}")
            if headers.get("content-encoding") != "aes128gcm":
                raise ValueError(f"Content-Encoding {headers.get('content-encoding')!r}")
            received.message = json.loads(decrypt(body, browser.private, browser.auth).decode("utf-8"))
        except (ValueError, KeyError, InvalidTag, json.JSONDecodeError) as exc:
            with self._lock:
                self.problems.append(f"{name}: {type(exc).__name__}: {exc}")
            return self._reply(request, received, 400, None)
        if name in self._held:
            self._held.discard(name)
            with self._arrived:
                received.status = -1  # in flight, never answered in time
                self.received.append(received)
                self._arrived.notify_all()
            self._release.wait(30)
            return
        with self._lock:
            status, retry_after = self._answers[name].popleft() if self._answers[name] else (201, None)
        self._reply(request, received, status, retry_after)

    def _reply(self, request: BaseHTTPRequestHandler, received: Received, status: int, retry_after: str | None) -> None:
        received.status = status
        with self._arrived:
            self.received.append(received)
            self._arrived.notify_all()
        try:
            request.send_response(status)
            if retry_after is not None:
                request.send_header("Retry-After", retry_after)
            request.send_header("Content-Length", "0")
            request.end_headers()
        except OSError:  # the sender went away
            pass

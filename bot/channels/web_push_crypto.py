"""The cryptography of Web Push: payload encryption (RFC 8291, `aes128gcm` of RFC 8188) and the VAPID
signature (RFC 8292, an ES256 JWT), on top of the `cryptography` package.

- `encrypt(plaintext, p256dh, auth)`: the request body for a subscription's keys: a 86-byte header
  (salt, record size 4096, the sender's one-time public key) and one AES-128-GCM record. `salt` and
  `sender` can be given to reproduce RFC 8291 Appendix A byte for byte (tests/test_web_push.py).
- `vapid_header(key, endpoint, subject)`: `Authorization: vapid t=<JWT>, k=<public key>`, the JWT for
  the endpoint's origin (`aud`), valid 12 hours (`exp`; push services refuse more than 24), `sub` the
  operator's contact.
- `load_private_key` / `public_key_b64`: the settings' key forms (PEM, or base64url of the raw 32 bytes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import struct
import time
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

RECORD_SIZE = 4096
MAX_PLAINTEXT = 4096 - 86 - 16 - 1  # push services take 4096-byte bodies: header, GCM tag, delimiter (RFC 8291 section 4)
JWT_SECONDS = 12 * 3600
CURVE = ec.SECP256R1()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """base64url with or without padding; ValueError for anything else (standard base64's + and / too)."""
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]*={0,2}", text):
        raise ValueError("not base64url")
    stripped = text.rstrip("=")
    if len(stripped) % 4 == 1:
        raise ValueError("not base64url (bad length)")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (ValueError, TypeError):
        raise ValueError("not base64url") from None


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def public_point(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bytes:
    """The 65-byte uncompressed point (0x04 || x || y)."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def load_public_point(point: bytes) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from its uncompressed point; ValueError when it is not one (off the curve too)."""
    if len(point) != 65 or point[0] != 4:
        raise ValueError("not an uncompressed P-256 point (65 bytes starting with 0x04)")
    return ec.EllipticCurvePublicKey.from_encoded_point(CURVE, point)


def encrypt(plaintext: bytes, p256dh: bytes, auth: bytes, salt: bytes | None = None,
            sender: ec.EllipticCurvePrivateKey | None = None) -> bytes:
    """The aes128gcm body of one push message to the subscription with keys `p256dh` (65 bytes) and
    `auth` (16 bytes), RFC 8291 section 3.4; a fresh salt and sender key pair unless given."""
    if len(plaintext) > MAX_PLAINTEXT:
        raise ValueError(f"push payload of {len(plaintext)} bytes, at most {MAX_PLAINTEXT}")
    if len(auth) != 16:
        raise ValueError("auth secret must be 16 bytes")
    salt = os.urandom(16) if salt is None else salt
    sender = ec.generate_private_key(CURVE) if sender is None else sender
    ua_public, as_public = p256dh, public_point(sender)
    ecdh_secret = sender.exchange(ec.ECDH(), load_public_point(ua_public))
    # HKDF-Extract(auth, ecdh) and -Expand with "WebPush: info" || 0 || ua_public || as_public: the IKM
    prk_key = _hmac(auth, ecdh_secret)
    ikm = _hmac(prk_key, b"WebPush: info\x00" + ua_public + as_public + b"\x01")
    prk = _hmac(salt, ikm)  # RFC 8188: the content encryption key and nonce come from salt and IKM
    cek = _hmac(prk, b"Content-Encoding: aes128gcm\x00\x01")[:16]
    nonce = _hmac(prk, b"Content-Encoding: nonce\x00\x01")[:12]
    record = AESGCM(cek).encrypt(nonce, plaintext + b"\x02", None)  # 0x02: the last (only) record, no padding
    return salt + struct.pack("!IB", RECORD_SIZE, len(as_public)) + as_public + record


def load_private_key(setting: str) -> ec.EllipticCurvePrivateKey:
    """WEB_PUSH_VAPID_PRIVATE_KEY: a PEM key (PKCS#8 or "EC PRIVATE KEY", newlines may be written as \\n)
    or base64url of the raw 32-byte P-256 scalar; ValueError saying what is wrong."""
    text = setting.strip().replace("\\n", "\n")
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        except (ValueError, TypeError, UnicodeEncodeError):
            raise ValueError("not a readable unencrypted PEM private key") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != CURVE.name:
            raise ValueError("the PEM key is not a P-256 (prime256v1) EC key")
        return key
    try:
        raw = b64url_decode(text)
    except ValueError:
        raise ValueError("expected a PEM key or base64url of the raw 32-byte key (`python -m bot webpush keys`)") from None
    if len(raw) != 32:
        raise ValueError(f"a raw P-256 private key is 32 bytes, this one is {len(raw)}")
    try:
        return ec.derive_private_key(int.from_bytes(raw, "big"), CURVE)
    except ValueError:
        raise ValueError("not a valid P-256 private key (zero or beyond the curve order)") from None


def public_key_b64(key: ec.EllipticCurvePrivateKey) -> str:
    """The public key as the browser's `applicationServerKey` and VAPID's `k=`: base64url of the point."""
    return b64url(public_point(key))


def raw_private_b64(key: ec.EllipticCurvePrivateKey) -> str:
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def new_key_pair() -> tuple[str, str]:
    """(private, public) for .env, both base64url."""
    key = ec.generate_private_key(CURVE)
    return raw_private_b64(key), public_key_b64(key)


def origin(endpoint: str) -> str:
    """The JWT's audience: scheme://host[:port] of the push endpoint."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def vapid_jwt(key: ec.EllipticCurvePrivateKey, audience: str, subject: str, now: float | None = None,
              seconds: int = JWT_SECONDS) -> str:
    header = b64url(json.dumps({"typ": "JWT", "alg": "ES256"}, separators=(",", ":")).encode())
    claims = {"aud": audience, "exp": int(now if now is not None else time.time()) + seconds, "sub": subject}
    signing_input = f"{header}.{b64url(json.dumps(claims, separators=(',', ':')).encode())}"
    r, s = decode_dss_signature(key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"  # JWS: raw r || s


def vapid_header(key: ec.EllipticCurvePrivateKey, endpoint: str, subject: str, now: float | None = None) -> str:
    return f"vapid t={vapid_jwt(key, origin(endpoint), subject, now)}, k={public_key_b64(key)}"

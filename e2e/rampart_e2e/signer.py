"""A small, independent implementation of Alibaba Cloud's request signatures.

Used by the tests to hand-craft requests that no SDK will send on purpose: a
replayed nonce, a stale timestamp, an unknown action, a bad version, a wrong
secret whose string-to-sign we can compare with the server's.

Written from the protocol notes (shared/protocol/alibaba-openapi.md §2 and
§3), not copied from an SDK, and checked against the test vectors of §2.4 and
§3.4 in tests/test_00_signer_vectors.py (which runs without a server).
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import hmac
import uuid
from typing import Iterable, Mapping

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

_UNRESERVED = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
)


def pct(value: str) -> str:
    """RFC 3986 percent-encoding as every Alibaba SDK does it (§2.2):
    UTF-8 bytes, keep only unreserved characters, everything else %XX
    (upper-case hex). Space is %20, never '+'."""
    out = []
    for byte in str(value).encode("utf-8"):
        if byte in _UNRESERVED:
            out.append(chr(byte))
        else:
            out.append("%%%02X" % byte)
    return "".join(out)


def utc_timestamp(when: _dt.datetime | None = None) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` in UTC, as the SDKs send `Timestamp`/`x-acs-date`."""
    when = when or _dt.datetime.now(_dt.timezone.utc)
    return when.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_nonce() -> str:
    return uuid.uuid4().hex


# --------------------------------------------------------------------------
# V1 ("RPC", HMAC-SHA1, SignatureVersion 1.0)
# --------------------------------------------------------------------------


def v1_canonical(params: Mapping[str, str]) -> str:
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    return "&".join(pct(k) + "=" + pct(v) for k, v in pairs)


def v1_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    return method.upper() + "&" + pct("/") + "&" + pct(v1_canonical(params))


def v1_signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    s2s = v1_string_to_sign(method, params)
    mac = hmac.new((secret + "&").encode("utf-8"), s2s.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def v1_common_params(
    access_key_id: str,
    action: str,
    version: str,
    *,
    nonce: str | None = None,
    timestamp: str | None = None,
) -> dict:
    """The common parameters pop-core sends (no RegionId, no SignatureType)."""
    return {
        "Action": action,
        "Version": version,
        "Format": "JSON",
        "AccessKeyId": access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": nonce or new_nonce(),
        "Timestamp": timestamp or utc_timestamp(),
    }


def v1_sign(secret: str, method: str, params: Mapping[str, str]) -> dict:
    """Returns a copy of `params` with `Signature` added."""
    signed = dict(params)
    signed["Signature"] = v1_signature(secret, method, params)
    return signed


def v1_encode(params: Mapping[str, str]) -> str:
    """Query string / form body of already-signed params (same encoding as the SDKs)."""
    return "&".join(pct(k) + "=" + pct(v) for k, v in sorted(params.items()))


# --------------------------------------------------------------------------
# V3 (ACS3-HMAC-SHA256)
# --------------------------------------------------------------------------


def v3_canonical_query(query: Mapping[str, str]) -> str:
    return "&".join(k + "=" + pct(v) for k, v in sorted(query.items()))


def v3_canonical_request(
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    signed_headers: Iterable[str],
) -> tuple[str, str]:
    """Returns (canonical request, SignedHeaders value)."""
    lower = {k.lower(): str(v).strip() for k, v in headers.items()}
    names = sorted({h.lower() for h in signed_headers})
    canonical_headers = "".join(n + ":" + lower[n] + "\n" for n in names)
    signed = ";".join(names)
    creq = "\n".join(
        [
            method.upper(),
            path,
            v3_canonical_query(query),
            canonical_headers,
            signed,
            lower.get("x-acs-content-sha256", EMPTY_SHA256),
        ]
    )
    return creq, signed


def v3_string_to_sign(canonical_request: str) -> str:
    return "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()


def v3_authorization(
    access_key_id: str,
    secret: str,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    signed_headers: Iterable[str] | None = None,
) -> str:
    if signed_headers is None:
        signed_headers = [
            h for h in headers if h.lower() == "host" or h.lower().startswith("x-acs-")
            or h.lower() == "content-type"
        ]
    creq, signed = v3_canonical_request(method, path, query, headers, signed_headers)
    s2s = v3_string_to_sign(creq)
    sig = hmac.new(secret.encode("utf-8"), s2s.encode("utf-8"), hashlib.sha256).hexdigest()
    return "ACS3-HMAC-SHA256 Credential=%s,SignedHeaders=%s,Signature=%s" % (
        access_key_id,
        signed,
        sig,
    )


def v3_headers(
    host: str,
    action: str,
    version: str,
    *,
    body: bytes = b"",
    nonce: str | None = None,
    date: str | None = None,
) -> dict:
    """The headers the Tea SDKs set before signing (§3.2), minus user-agent."""
    return {
        "host": host,
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": date or utc_timestamp(),
        "x-acs-signature-nonce": nonce or new_nonce(),
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
        "accept": "application/json",
    }

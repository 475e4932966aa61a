"""Plain HTTP to the server, with requests signed by the harness's own signer
(rampart_e2e.signer). For what the SDKs will not send on purpose."""

from __future__ import annotations

import http.client
import json
import socket
from dataclasses import dataclass, field

from . import config, signer
from .errors import ApiError

ERROR_BODY_KEYS = ("RequestId", "HostId", "Code", "Message", "Recommend")


@dataclass
class RawResponse:
    status: int
    headers: dict
    body: bytes
    sent: dict = field(default_factory=dict)  # what was sent, for diagnostics

    @property
    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None

    def raise_for_error(self, client="raw"):
        """Mirror the SDKs: non-2xx is an error carrying the JSON Code/Message."""
        if 200 <= self.status < 300:
            return self.json
        data = self.json if isinstance(self.json, dict) else {}
        raise ApiError(
            client,
            data.get("Code"),
            data.get("Message"),
            self.status,
            data.get("RequestId"),
            data or self.body[:2000],
        )


def request(port, method, path="/", *, query="", body=b"", headers=None, timeout=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout or config.CALL_TIMEOUT)
    try:
        url = path + ("?" + query if query else "")
        conn.request(method, url, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        return RawResponse(resp.status, hdrs, data, {"method": method, "url": url})
    finally:
        conn.close()


def v1_params(account, action, params=None, *, version=config.RAM_VERSION, nonce=None,
              timestamp=None, method="POST", secret=None, access_key_id=None):
    """Business params + common params, signed with `secret` (default: the account's)."""
    ak = access_key_id or account.access_key_id
    all_params = signer.v1_common_params(ak, action, version, nonce=nonce, timestamp=timestamp)
    all_params.update({k: _str(v) for k, v in (params or {}).items()})
    return signer.v1_sign(secret if secret is not None else account.access_key_secret,
                          method, all_params)


def v1_send(port, signed_params, *, method="POST", in_body=None):
    """Sends already-signed V1 params: POST puts them in a form body (as
    pop-core does), GET in the query string."""
    encoded = signer.v1_encode(signed_params)
    if in_body is None:
        in_body = method == "POST"
    if in_body:
        return request(port, method, "/", body=encoded.encode("ascii"),
                       headers={"content-type": "application/x-www-form-urlencoded",
                                "x-acs-action": signed_params.get("Action", ""),
                                "x-acs-version": signed_params.get("Version", "")})
    return request(port, method, "/", query=encoded)


def v1_call(port, account, action, params=None, *, method="POST", **kw):
    return v1_send(port, v1_params(account, action, params, method=method, **kw), method=method)


def v3_send(port, account, action, params=None, *, version=config.RAM_VERSION, nonce=None,
            date=None, secret=None, access_key_id=None, headers_override=None):
    """A POST signed with ACS3-HMAC-SHA256 the way the Tea SDKs send it:
    business params in the query, empty body, action/version in headers."""
    query = {k: _str(v) for k, v in (params or {}).items()}
    host = "127.0.0.1:%d" % port
    headers = signer.v3_headers(host, action, version, nonce=nonce, date=date)
    headers.update(headers_override or {})
    headers["authorization"] = signer.v3_authorization(
        access_key_id or account.access_key_id,
        secret if secret is not None else account.access_key_secret,
        "POST", "/", query, headers,
        signed_headers=[h for h in headers if h != "authorization"],
    )
    return request(port, "POST", "/", query=signer.v3_canonical_query(query), headers=headers)


def send_oversized(port, headers: dict, body_size: int, chunk=64 * 1024, timeout=None):
    """Sends a POST whose body is `body_size` bytes, tolerating a server that
    answers and closes before reading it all. Returns (status, headers, body)
    or raises if the server answered nothing at all."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout or config.CALL_TIMEOUT)
    try:
        head = "POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: %d\r\n" % (port, body_size)
        head += "".join("%s: %s\r\n" % kv for kv in headers.items())
        head += "Connection: close\r\n\r\n"
        sock.sendall(head.encode("ascii"))
        sent = 0
        filler = b"A" * chunk
        try:
            while sent < body_size:
                n = min(chunk, body_size - sent)
                sock.sendall(filler[:n])
                sent += n
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused early; read its answer below
        data = b""
        try:
            while True:
                part = sock.recv(65536)
                if not part:
                    break
                data += part
        except (ConnectionResetError, socket.timeout):
            pass
    finally:
        sock.close()
    assert data, "the server closed the connection without any HTTP response"
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if hdrs.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    return status, hdrs, body


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2:]
    return out


def _str(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def assert_error_response(resp: RawResponse, code, status: int):
    """The exact Alibaba error body of protocol §5.2, as sent on the wire."""
    assert resp.status == status, "expected HTTP %s %s, got %s: %r" % (
        status, code, resp.status, resp.body[:2000])
    ctype = resp.headers.get("content-type", "")
    assert ctype.startswith("application/json"), "error Content-Type is %r" % ctype
    body = resp.json
    assert isinstance(body, dict), "error body is not a JSON object: %r" % resp.body[:2000]
    missing = [k for k in ERROR_BODY_KEYS if k not in body]
    assert not missing, "error body lacks %s: %s" % (missing, body)
    for k in ERROR_BODY_KEYS:
        assert isinstance(body[k], str), "%s must be a string in %s" % (k, body)
    codes = {code} if isinstance(code, str) else set(code)
    assert body["Code"] in codes, "expected Code %s, got %s" % (sorted(codes), body)
    assert body["RequestId"] and body["Message"].strip(), body
    return body

"""A minimal Docker token server (distribution docs/spec/auth/token.md) for
CNCF Distribution's `auth: token:` mode, so the clients' Bearer flow (the one
rampart serves) is exercised against the reference registry:

    ts = TokenServer(users={"alice": "pw"}, grants={("alice", "team/app"): "pull,push"})
    ts.start()
    reg = Distribution(dir, token=ts)   # realm/service/issuer/rootcertbundle from ts

GET /token?service=S&scope=repository:NAME:ACTIONS[&scope=...] with optional
HTTP Basic credentials. Wrong credentials: 401. Otherwise a JWT (RS256, the
self-signed certificate in the header's x5c, which is the registry's
rootcertbundle) granting, per scope, the intersection of what was asked and
`grants[(user, name)]` (user "" is anonymous; "*" as name matches any
repository). Every request is recorded in `requests` (user, scopes, granted).
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ISSUER = "rampart-e2e-issuer"
SERVICE = "rampart-e2e-registry"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    def __init__(self, workdir, *, users: dict, grants: dict, issuer: str = ISSUER,
                 service: str = SERVICE, ttl: int = 300):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.dir = os.path.abspath(str(workdir))
        os.makedirs(self.dir, exist_ok=True)
        self.users, self.grants = dict(users), dict(grants)
        self.issuer, self.service, self.ttl = issuer, service, ttl
        self.requests = []
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rampart-e2e-token-signer")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(self._key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=30))
                .sign(self._key, hashes.SHA256()))
        self._cert_der = cert.public_bytes(serialization.Encoding.DER)
        self.cert_path = os.path.join(self.dir, "token-signer.pem")
        with open(self.cert_path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        self._httpd = None
        self._thread = None

    # -- tokens ------------------------------------------------------------

    def allowed(self, user: str, name: str) -> set:
        for key in ((user, name), (user, "*")):
            if key in self.grants:
                return {a.strip() for a in self.grants[key].split(",") if a.strip()}
        return set()

    def sign(self, claims: dict) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        header = {"typ": "JWT", "alg": "RS256",
                  "x5c": [base64.b64encode(self._cert_der).decode()]}
        signing_input = "%s.%s" % (_b64url(json.dumps(header).encode()),
                                   _b64url(json.dumps(claims).encode()))
        sig = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(sig)

    def issue(self, user: str, scopes: list) -> tuple:
        access = []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) < 3:
                continue
            kind, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1]
            wanted = {a for a in actions.split(",") if a}
            granted = wanted & self.allowed(user, name)
            if "*" in self.allowed(user, name):
                granted = wanted
            if granted:
                access.append({"type": kind, "name": name, "actions": sorted(granted)})
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": user, "aud": self.service, "exp": now + self.ttl,
                  "nbf": now - 10, "iat": now, "jti": secrets.token_hex(8), "access": access}
        return self.sign(claims), access

    # -- HTTP --------------------------------------------------------------

    @property
    def realm(self) -> str:
        return "http://127.0.0.1:%d/token" % self._httpd.server_address[1]

    def start(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body, headers=()):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                if url.path != "/token":
                    return self._answer(404, {"error": "not found"})
                query = urllib.parse.parse_qs(url.query)
                scopes = query.get("scope", [])
                user = ""
                auth = self.headers.get("Authorization", "")
                if auth.lower().startswith("basic "):
                    raw = base64.b64decode(auth[6:]).decode("utf-8", "replace")
                    user, _, password = raw.partition(":")
                    if server.users.get(user) != password:
                        server.requests.append({"user": user, "scopes": scopes, "granted": None,
                                                "status": 401})
                        return self._answer(401, {"errors": [{"code": "UNAUTHORIZED",
                                                              "message": "bad credentials"}]},
                                            [("WWW-Authenticate", 'Basic realm="token"')])
                token, access = server.issue(user, scopes)
                server.requests.append({"user": user, "scopes": scopes, "granted": access,
                                        "status": 200})
                self._answer(200, {"token": token, "access_token": token,
                                   "expires_in": server.ttl,
                                   "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                              time.gmtime())})

            def do_POST(self):  # OAuth2 password grant: not offered, clients fall back to GET
                self._answer(404, {"error": "not supported"})

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

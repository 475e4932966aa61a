"""A real CNCF Distribution registry (Debian's `docker-registry`, 2.8.2) on
127.0.0.1, as the reference the client tooling is checked against.

    reg = Distribution(tmp_dir, users={"alice": "pw"})   # users=None: no auth
    reg.start()
    ... reg.host == "127.0.0.1:PORT", reg.access_log() ...
    reg.stop()

With token=TokenServer (rampart_e2e.token_server) it runs in `auth: token:`
mode instead: 401 `WWW-Authenticate: Bearer realm=...,service=...,scope=...`,
the flow rampart serves.

Config: filesystem storage in the temp folder, deletes enabled, plain http
on a free loopback port, and with `users` an htpasswd file (bcrypt, made with
the `bcrypt` package) under `auth: htpasswd:`, so the registry answers
401 `WWW-Authenticate: Basic realm=...` to anonymous or wrong credentials.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import time

# RAMPART_E2E_DISTRIBUTION names the binary (only that one is tried when set).
BINARY = os.environ.get("RAMPART_E2E_DISTRIBUTION", "")
REALM = "rampart-e2e-basic"


def binary_path() -> str | None:
    """The docker-registry binary, or None when it is not installed."""
    if BINARY:
        return BINARY if os.path.isfile(BINARY) and os.access(BINARY, os.X_OK) else None
    return shutil.which("docker-registry") or (
        "/usr/bin/docker-registry" if os.access("/usr/bin/docker-registry", os.X_OK) else None)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def htpasswd_line(user: str, password: str) -> str:
    import bcrypt

    # Cost 5 keeps each request's check fast; Distribution accepts $2b$.
    return "%s:%s" % (user, bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode())


class Distribution:
    def __init__(self, workdir, *, users: dict | None = None, token=None,
                 port: int | None = None):
        self.dir = os.path.abspath(str(workdir))
        os.makedirs(self.dir, exist_ok=True)
        self.users = dict(users) if users else None
        self.token = token  # a started token_server.TokenServer: `auth: token:` mode
        if self.users and self.token:
            raise ValueError("htpasswd users or a token server, not both")
        self.port = port or free_port()
        self.host = "127.0.0.1:%d" % self.port
        self.config_path = os.path.join(self.dir, "config.yml")
        self.log_path = os.path.join(self.dir, "registry.log")
        self.storage = os.path.join(self.dir, "storage")
        self.proc = None
        self._log = None

    def write_config(self):
        lines = [
            "version: 0.1",
            "log:",
            "  level: info",
            "  formatter: text",
            "storage:",
            "  filesystem:",
            "    rootdirectory: %s" % self.storage,
            "  delete:",
            "    enabled: true",
            "  cache:",
            "    blobdescriptor: inmemory",
            "http:",
            "  addr: %s" % self.host,
            "  secret: rampart-e2e-not-secret",
        ]
        if self.users:
            htpasswd = os.path.join(self.dir, "htpasswd")
            with open(htpasswd, "w") as f:
                for user, password in self.users.items():
                    f.write(htpasswd_line(user, password) + "\n")
            lines += ["auth:", "  htpasswd:", "    realm: %s" % REALM, "    path: %s" % htpasswd]
        if self.token:
            lines += ["auth:", "  token:", "    realm: %s" % self.token.realm,
                      "    service: %s" % self.token.service,
                      "    issuer: %s" % self.token.issuer,
                      "    rootcertbundle: %s" % self.token.cert_path]
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self, timeout: float = 20):
        binary = binary_path()
        if not binary:
            raise RuntimeError("docker-registry is not installed (apt-get install docker-registry)")
        self.write_config()
        self._log = open(self.log_path, "ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        self.proc = subprocess.Popen([binary, "serve", self.config_path], stdout=self._log,
                                     stderr=subprocess.STDOUT, env=env, cwd=self.dir,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("docker-registry exited %s:\n%s" % (self.proc.returncode,
                                                                       self.log_tail()))
            try:
                status = self.get_status("/v2/")
                if status in (200, 401):
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("docker-registry did not answer /v2/ in %ss:\n%s" % (timeout,
                                                                              self.log_tail()))

    def get_status(self, path: str) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()

    def log_tail(self, n: int = 40) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""

    def access_log(self) -> list:
        """The combined-log-format request lines ("METHOD /path HTTP/1.1" STATUS)
        the registry logged so far, as (method, path, status) tuples."""
        out = []
        try:
            with open(self.log_path, "rb") as f:
                for raw in f:
                    line = raw.decode("utf-8", "replace")
                    if line.startswith("127.0.0.1 - ") and '"' in line:
                        request = line.split('"')[1].split(" ")
                        status = line.split('"')[2].split()[0]
                        if len(request) >= 2:
                            out.append((request[0], request[1], int(status)))
        except OSError:
            pass
        return out

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log:
            self._log.close()
            self._log = None

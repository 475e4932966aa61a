"""Starting and stopping a real `rampart serve` for the tests, and creating
accounts with `rampart account create`.

Interface assumed (see config.py and README.md "Assumptions"):
  rampart serve --data-dir DIR --listen 127.0.0.1:P --registry-listen 127.0.0.1:Q [--store URL]
  GET /healthz -> 200 once serving
  DIR/first-account.json written on first start: {"AccountId","AccessKeyId","AccessKeySecret"}
  rampart account create --data-dir DIR [--store URL] --alias NAME --output json
      -> prints {"AccountId","AccessKeyId","AccessKeySecret"}
  SIGTERM -> exits 0
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse

from . import config, netguard
from .sdk import Credentials


class ServerError(AssertionError):
    pass


def rampart_binary() -> str:
    path = os.environ.get(config.ENV_BIN, "")
    if not path:
        raise ServerError(
            "%s is not set. Build the server and point the tests at it, e.g.\n"
            "    cargo build --release -p rampart\n"
            "    %s=$PWD/target/release/rampart e2e/run.sh" % (config.ENV_BIN, config.ENV_BIN)
        )
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise ServerError(
            "%s=%s is not an executable file. Build it with `cargo build --release -p rampart` "
            "(or point %s at target/debug/rampart)." % (config.ENV_BIN, path, config.ENV_BIN)
        )
    return os.path.abspath(path)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _child_env():
    return netguard.scrub_environment(os.environ.copy())


def parse_account_json(text: str, where: str) -> Credentials:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ServerError("%s is not JSON (%s): %r" % (where, exc, text[:2000])) from None
    for key in ("AccountId", "AccessKeyId", "AccessKeySecret"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ServerError("%s: %r must be a non-empty string in %r" % (where, key, data))
    return Credentials(data["AccessKeyId"], data["AccessKeySecret"], data["AccountId"],
                       data.get("AccountAlias") or data.get("Alias"))


# --------------------------------------------------------------------------
# PostgreSQL: one fresh database per run
# --------------------------------------------------------------------------


class PostgresDatabase:
    """Creates a database named rampart_e2e_<random> on the server of
    RAMPART_TEST_POSTGRES_URL, hands out its URL, and drops it afterwards."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("postgres", "postgresql"):
            raise ServerError("%s must be a postgres:// URL, got %r" % (config.ENV_POSTGRES,
                                                                       base_url))
        host = parts.hostname or ""
        if host and not host.startswith("/") and not netguard._is_loopback_host(host):
            raise ServerError("%s points at %r: the tests only ever talk to loopback" % (
                config.ENV_POSTGRES, host))
        self.name = "rampart_e2e_%d_%s" % (int(time.time()), secrets.token_hex(4))
        self.url = urllib.parse.urlunsplit(parts._replace(path="/" + self.name))

    def _admin(self):
        import psycopg

        return psycopg.connect(self.base_url, autocommit=True, connect_timeout=10)

    def create(self):
        with self._admin() as conn:
            conn.execute('CREATE DATABASE "%s"' % self.name)

    def drop(self):
        with self._admin() as conn:
            conn.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % self.name)


# --------------------------------------------------------------------------
# The server process
# --------------------------------------------------------------------------


class RampartServer:
    def __init__(self, store: str, postgres_url: str | None = None):
        assert store in ("sqlite", "postgres")
        self.store = store
        self.binary = rampart_binary()
        self.postgres_url = postgres_url
        self.tmp = tempfile.mkdtemp(prefix="rampart-e2e-%s-" % store)
        self.data_dir = os.path.join(self.tmp, "data")
        os.makedirs(self.data_dir)
        self.log_path = os.path.join(self.tmp, "server.log")
        self.port = None
        self.registry_port = None
        self.proc = None
        self.root = None  # Credentials of the first account
        self.returncode = None

    # -- lifecycle ---------------------------------------------------------

    def command(self):
        cmd = [self.binary, "serve", "--data-dir", self.data_dir,
               "--listen", "127.0.0.1:%d" % self.port,
               "--registry-listen", "127.0.0.1:%d" % self.registry_port]
        if self.store == "postgres":
            cmd += ["--store", self.postgres_url]
        return cmd

    def start(self):
        self.port = free_port()
        self.registry_port = free_port()
        while self.registry_port == self.port:
            self.registry_port = free_port()
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=_child_env(), cwd=self.tmp)
        deadline = time.monotonic() + config.START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise ServerError("rampart serve exited with %s before serving.\n%s" % (
                    self.proc.returncode, self.describe()))
            if self._healthz_ok():
                break
            if time.monotonic() > deadline:
                self.kill()
                raise ServerError("GET /healthz did not answer 200 within %ss.\n%s" % (
                    config.START_TIMEOUT, self.describe()))
            time.sleep(0.05)
        self.root = self._read_first_account()
        return self

    def _healthz_ok(self):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/healthz")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def healthz_status(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status
        finally:
            conn.close()

    def _read_first_account(self):
        path = os.path.join(self.data_dir, config.FIRST_ACCOUNT_FILE)
        deadline = time.monotonic() + 5
        while not os.path.exists(path):
            if time.monotonic() > deadline:
                raise ServerError("the server is serving but wrote no %s (looked in %s; "
                                  "the name is config.FIRST_ACCOUNT_FILE).\n%s" % (
                                      config.FIRST_ACCOUNT_FILE, path, self.describe()))
            time.sleep(0.05)
        with open(path, encoding="utf-8") as f:
            return parse_account_json(f.read(), path)

    def stop(self) -> int:
        """SIGTERM, wait, and return the exit code (the fixture insists on 0)."""
        if self.proc is None or self.proc.poll() is not None:
            self.returncode = self.proc.returncode if self.proc else None
            return self.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.returncode = self.proc.wait(timeout=config.STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ServerError("rampart serve did not exit within %ss of SIGTERM.\n%s" % (
                config.STOP_TIMEOUT, self.describe()))
        finally:
            self._log.close()
        return self.returncode

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.returncode = self.proc.returncode if self.proc else None

    def cleanup(self):
        if os.environ.get(config.ENV_KEEP) == "1":
            return
        shutil.rmtree(self.tmp, ignore_errors=True)

    def log_tail(self, n=60):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return "(no log)"

    def describe(self):
        return "command: %s\nlog (%s), last lines:\n%s" % (
            " ".join(self.command()), self.log_path, self.log_tail())

    # -- CLI ---------------------------------------------------------------

    def store_args(self):
        """Where `rampart account create` writes: the server's data folder and,
        on PostgreSQL, its store. The data folder is given in both cases: it
        holds the master key the server seals secrets with, and a secret sealed
        with any other key would not open on the server (the CLI refuses a
        --store without the server's key)."""
        args = ["--data-dir", self.data_dir]
        if self.store == "postgres":
            args += ["--store", self.postgres_url]
        return args

    def create_account(self, alias: str) -> Credentials:
        cmd = [self.binary, "account", "create", *self.store_args(), "--alias", alias,
               "--output", "json"]
        # cwd: the run's temp folder, so nothing relative lands in the checkout.
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, env=_child_env(), timeout=60,
                              cwd=self.tmp)
        if proc.returncode != 0:
            raise ServerError("`%s` exited %s:\n%s\n%s" % (
                " ".join(cmd), proc.returncode, proc.stdout.decode(errors="replace"),
                proc.stderr.decode(errors="replace")))
        creds = parse_account_json(proc.stdout.decode("utf-8").strip(), "`rampart account create`")
        return Credentials(creds.access_key_id, creds.access_key_secret, creds.account_id, alias)

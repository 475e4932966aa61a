"""Starting and stopping a real `rampart serve` for the tests, and creating
accounts with `rampart account create`.

Interface assumed (see config.py and README.md "Assumptions"):
  rampart serve --data-dir DIR --listen 127.0.0.1:P --registry-listen 127.0.0.1:Q [--store URL]
      --test-clock, with RAMPART_TEST_CLOCK_OFFSET_FILE=TMP/clock-offset (offset in seconds)
  GET /healthz -> 200 once serving
  DIR/first-account.json written on first start: {"AccountId","AccessKeyId","AccessKeySecret"}
  rampart account create --data-dir DIR [--store URL] --alias NAME --output json
      -> prints {"AccountId","AccessKeyId","AccessKeySecret"}
  rampart credentials-uri create --data-dir DIR [--store URL] --account A --role NAME
      [--session-name S] --endpoint http://127.0.0.1:P --output json  -> {"BindingId", "Uri", ...}
  rampart credentials-uri delete --data-dir DIR [--store URL] --account A --binding ID
  the audit table `audit_events` of the store (read directly by the tests)
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
    def __init__(self, store: str, postgres_url: str | None = None, *, extra_env=None,
                 first_account=True):
        """`extra_env` adds to the server's environment; `first_account=False`
        for a further node on a store that already has accounts."""
        assert store in ("sqlite", "postgres")
        self.store = store
        self.extra_env = dict(extra_env or {})
        self.first_account = first_account
        self.binary = rampart_binary()
        self.postgres_url = postgres_url
        self.tmp = tempfile.mkdtemp(prefix="rampart-e2e-%s-" % store)
        self.data_dir = os.path.join(self.tmp, "data")
        os.makedirs(self.data_dir)
        self.log_path = os.path.join(self.tmp, "server.log")
        self.clock_file = os.path.join(self.tmp, config.TEST_CLOCK_FILE)
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
        cmd.append(config.TEST_CLOCK_FLAG)
        return cmd

    def set_clock_offset(self, seconds: int):
        """Shifts the server's session clock by `seconds` from now on."""
        tmp = self.clock_file + ".tmp"
        with open(tmp, "w", encoding="ascii") as f:
            f.write("%d\n" % seconds)
        os.replace(tmp, self.clock_file)

    def start(self):
        self.port = free_port()
        self.registry_port = free_port()
        while self.registry_port == self.port:
            self.registry_port = free_port()
        self._log = open(self.log_path, "ab")
        self.set_clock_offset(0)
        env = _child_env()
        env[config.ENV_TEST_CLOCK_FILE] = self.clock_file
        env.update(self.extra_env)
        self.proc = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=self.tmp)
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
        if self.first_account:
            self.root = self._read_first_account()
        return self

    def shared_keys_env(self):
        """The environment another node needs to share this one's store: its
        master key and STS key, as the README says nodes must."""
        keys = os.path.join(self.data_dir, "keys")
        with open(os.path.join(keys, "master.key"), encoding="ascii") as f:
            master = f.read().strip()
        with open(os.path.join(keys, "sts.key"), encoding="ascii") as f:
            sts = [line.strip() for line in f if line.strip() and not line.startswith("#")]
        return {"RAMPART_MASTER_KEY": master, "RAMPART_STS_KEY": sts[0],
                "RAMPART_STS_OLD_KEYS": ",".join(sts[1:])}

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

    def run_cli(self, *args, timeout=60):
        """Runs `rampart ARGS` in the run's temp folder; returns stdout, or
        raises with both streams on a non-zero exit."""
        cmd = [self.binary, *args]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, env=_child_env(), timeout=timeout,
                              cwd=self.tmp)
        if proc.returncode != 0:
            raise ServerError("`%s` exited %s:\n%s\n%s" % (
                " ".join(cmd), proc.returncode, proc.stdout.decode(errors="replace"),
                proc.stderr.decode(errors="replace")))
        return proc.stdout.decode("utf-8")

    def create_credentials_uri(self, account_id: str, role: str, session_name=None) -> dict:
        args = ["credentials-uri", "create", *self.store_args(), "--account", account_id,
                "--role", role, "--endpoint", "http://127.0.0.1:%d" % self.port,
                "--output", "json"]
        if session_name:
            args += ["--session-name", session_name]
        return json.loads(self.run_cli(*args))

    def delete_credentials_uri(self, account_id: str, binding_id: str):
        self.run_cli("credentials-uri", "delete", *self.store_args(), "--account", account_id,
                     "--binding", binding_id)

    def audit_rows(self, account_id: str, wait_for=(), until=None) -> list:
        """The account's rows of the store's audit table, oldest first, each a
        dict with `principal_chain` decoded (a list, [] when NULL).

        The server writes audit rows in the background, in the order the
        requests finished, a few milliseconds after answering. `wait_for`
        names request ids whose rows must be there; `until(rows)` is a
        condition the rows must meet (for answers without a request id,
        such as the registry's). The table is read again until both hold
        (at most 10 s); once a request's row is there, every row of an
        earlier request is too."""
        deadline = time.monotonic() + 10
        wanted = set(wait_for)
        while True:
            rows = self._audit_rows_now(account_id)
            missing = wanted - {r["request_id"] for r in rows}
            done = not missing and (until is None or until(rows))
            if done or time.monotonic() > deadline:
                return rows
            time.sleep(0.02)

    def _audit_rows_now(self, account_id: str) -> list:
        columns = ("request_id, occurred_at, account_id, principal_arn, action, resource, "
                   "decision, deciding_statement, error_code, principal_chain, session_id, "
                   "issued_session_id, acting_service")
        sql = ("SELECT %s FROM audit_events WHERE account_id = {p} "
               "ORDER BY occurred_at, event_id" % columns)
        names = [c.strip() for c in columns.split(",")]
        if self.store == "postgres":
            import psycopg

            with psycopg.connect(self.postgres_url, connect_timeout=10) as conn:
                rows = conn.execute(sql.format(p="%s"), (account_id,)).fetchall()
        else:
            import sqlite3

            conn = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.data_dir, "rampart.db"),
                                   uri=True, timeout=10)
            try:
                rows = conn.execute(sql.format(p="?"), (account_id,)).fetchall()
            finally:
                conn.close()
        out = []
        for row in rows:
            record = dict(zip(names, row))
            chain = record["principal_chain"]
            record["principal_chain"] = json.loads(chain) if chain else []
            out.append(record)
        return out

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

    def create_registry_instance(self, account_id: str, name: str, region: str = "cn-hangzhou",
                                 domains=()) -> dict:
        """`rampart registry instance create --account A --name N --region R
        [--domain HOST...] --output json` while the server runs; returns
        {"InstanceId", "InstanceName", "RegionId", "AccountId", "Domains"}."""
        args = ["registry", "instance", "create", *self.store_args(), "--account", account_id,
                "--name", name, "--region", region, "--output", "json"]
        for domain in domains:
            args += ["--domain", domain]
        out = self.run_cli(*args)
        try:
            data = json.loads(out)
        except ValueError as exc:
            raise ServerError("`rampart registry instance create` printed no JSON (%s): %r" % (
                exc, out[:2000])) from None
        if not (isinstance(data.get("InstanceId"), str) and data["InstanceId"].startswith("cri-")):
            raise ServerError("`rampart registry instance create`: no cri- InstanceId in %r"
                              % data)
        return data

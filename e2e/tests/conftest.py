"""Session fixtures: a real `rampart serve` (SQLite, and PostgreSQL when
RAMPART_TEST_POSTGRES_URL is set), its first account's root key, and factories
for every official SDK client pointed at it."""

import itertools
import os
import secrets

# Before any SDK is imported: the credentials libraries read the environment
# at import time, and nothing may reach a proxy or a cloud endpoint.
from rampart_e2e import netguard

netguard.scrub_environment(os.environ)
netguard.install()

import pytest  # noqa: E402

from rampart_e2e import config  # noqa: E402
from rampart_e2e.sdk import Clients, Credentials  # noqa: E402
from rampart_e2e.server import PostgresDatabase, RampartServer  # noqa: E402

POSTGRES_URL = os.environ.get(config.ENV_POSTGRES, "").strip()
STORES = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])


def pytest_report_header():
    lines = ["rampart binary: %s" % (os.environ.get(config.ENV_BIN) or "(RAMPART_BIN unset)"),
             "stores: %s" % ", ".join(STORES)]
    if not POSTGRES_URL:
        lines.append("PostgreSQL pass: SKIPPED (set %s to enable)" % config.ENV_POSTGRES)
    return lines


def pytest_terminal_summary(terminalreporter):
    if not POSTGRES_URL:
        terminalreporter.write_sep("-", "PostgreSQL pass")
        terminalreporter.write_line(config.POSTGRES_HINT)


@pytest.fixture(scope="session", params=STORES)
def server(request):
    """A running `rampart serve` on a free 127.0.0.1 port with a temp data dir."""
    store = request.param
    database = None
    if store == "postgres":
        database = PostgresDatabase(POSTGRES_URL)
        database.create()
    srv = RampartServer(store, database.url if database else None)
    try:
        srv.start()
    except BaseException:
        srv.kill()
        if database:
            database.drop()
        raise
    yield srv
    code = srv.stop()
    described = srv.describe()
    if database and os.environ.get(config.ENV_KEEP) != "1":
        database.drop()
    if code == 0:
        srv.cleanup()
    assert code == 0, "rampart serve did not exit cleanly on SIGTERM (exit %s).\n%s" % (
        code, described)


@pytest.fixture(autouse=True)
def _server_still_alive(request):
    yield
    if "server" in request.fixturenames:
        srv = request.getfixturevalue("server")
        assert srv.proc.poll() is None, "rampart serve died during the test (exit %s).\n%s" % (
            srv.proc.returncode, srv.describe())


@pytest.fixture(scope="session")
def root(server) -> Credentials:
    """The first account's root AccessKey (from DATA_DIR/first-account.json)."""
    return server.root


@pytest.fixture(scope="session")
def clients(server, root) -> Clients:
    """Every SDK client with the first account's root key."""
    return Clients(server.port, root)


@pytest.fixture(scope="session")
def clients_for(server):
    """clients_for(creds) -> Clients for any AccessKey pair."""
    return lambda creds: Clients(server.port, creds)


@pytest.fixture(scope="session")
def sts_clients_for(server):
    """sts_clients_for(creds) -> the STS 2015-04-01 clients for any AccessKey
    pair (temporary ones included: Credentials.security_token)."""
    return lambda creds: Clients(server.port, creds, product="sts")


@pytest.fixture
def test_clock(server):
    """test_clock(seconds) shifts the server's session clock (the test clock
    it was started with); back to 0 when the test ends."""
    yield server.set_clock_offset
    server.set_clock_offset(0)


_counter = itertools.count(1)


@pytest.fixture(scope="session")
def unique():
    """unique('alice') -> 'alice-<run>-<n>': names that never collide across tests."""
    run = secrets.token_hex(3)
    return lambda prefix: "%s-%s-%d" % (prefix, run, next(_counter))


@pytest.fixture(scope="session")
def new_account(server, unique):
    """new_account() -> root Credentials of a fresh account made with
    `rampart account create` (while the server runs)."""

    def make(alias=None):
        return server.create_account(alias or unique("acct"))

    return make


@pytest.fixture
def ram_user(clients, clients_for, unique):
    """ram_user() -> (user_name, Credentials of a fresh AccessKey of that user)
    in the first account, made by the root key."""

    def make(prefix="user"):
        name = unique(prefix)
        clients.tea_v3.call("CreateUser", {"UserName": name})
        key = clients.tea_v3.call("CreateAccessKey", {"UserName": name})["AccessKey"]
        return name, Credentials(key["AccessKeyId"], key["AccessKeySecret"])

    return make


@pytest.fixture
def registry_clients(server, tmp_path):
    """A rampart_e2e.clients.ClientEnv (skopeo, podman, docker CLI in a
    sandbox of their own) pointed at this server's registry listener,
    127.0.0.1:<server.registry_port> over plain http (e2e/REGISTRY-CLIENTS.md)."""
    from rampart_e2e.clients import ClientEnv

    env = ClientEnv(tmp_path / "registry-clients", "127.0.0.1:%d" % server.registry_port)
    yield env
    env.close()


@pytest.fixture(scope="session")
def registry(server, root, unique):
    """The session's default registry instance (rampart_e2e.registry_world.
    RegistryWorld) in the first account, created before any other instance
    and answering to plain 127.0.0.1:<registry_port>; root has a fixed
    registry password (`registry.root_basic`)."""
    from rampart_e2e.registry_world import RegistryWorld

    return RegistryWorld(server, root, unique)

"""Scenario S3 (seed 003), step 4 and 5, through a service that delegates
its authorization to rampart: the example function platform
(`examples/fc-gateway`, the `rampart-example-fc` binary) fronts
`ListServices` and `CreateService`, and asks rampart's authorization API
for services (`POST /rampart/authorize`, signed with its service key)
about every request it receives.

Account A owns role `fc-admin`, trusted by B's root, with the system
policy AliyunFCReadOnlyAccess; a RAM user of B with
AliyunSTSAssumeRoleAccess assumes it with the official STS SDKs and calls
the gateway with the session credentials through the official SDKs'
generic calls: reads are allowed, writes denied; once A detaches the
policy, the same credentials are denied on the next call. A tampered
signature, a replayed request, an expired session, B's own keys on A's
resources, and a gateway that signs with a non-service key all fail as
they should."""

import json
import os
import queue
import subprocess
import threading
import urllib.error
import urllib.request

import pytest

from rampart_e2e import docs, signer
from rampart_e2e.errors import expect_error
from rampart_e2e.sdk import Credentials, make
from rampart_e2e.sts_world import Party, assume, session_credentials

SERVICE = "fc.example.internal"
FC_VERSION = "2021-04-06"
E2E_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_DIR = os.path.dirname(E2E_DIR)


def example_binary() -> str:
    """The gateway: RAMPART_EXAMPLE_FC_BIN, else beside RAMPART_BIN (built
    there with cargo when missing: the example is not a default member)."""
    explicit = os.environ.get("RAMPART_EXAMPLE_FC_BIN")
    if explicit:
        return explicit
    target = os.path.dirname(os.environ["RAMPART_BIN"])
    path = os.path.join(target, "rampart-example-fc")
    if not os.access(path, os.X_OK):
        release = os.path.basename(target) == "release"
        cmd = ["cargo", "build", "-q", "-p", "rampart-example-fc"] + (["--release"] if release else [])
        proc = subprocess.run(cmd, cwd=REPO_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert proc.returncode == 0 and os.access(path, os.X_OK), (
            "could not build the example gateway (%s):\n%s" % (
                " ".join(cmd), proc.stdout.decode(errors="replace")))
    return path


def service_key(server, service=SERVICE) -> Credentials:
    out = server.run_cli("service", "key", "create", *server.store_args(),
                         "--service", service, "--output", "json")
    data = json.loads(out)
    assert data["AccessKeyId"].startswith("LTSV") and data["Service"] == service, data
    return Credentials(data["AccessKeyId"], data["AccessKeySecret"])


class Gateway:
    """The example service as a subprocess on a free loopback port."""

    def __init__(self, server, key: Credentials, account: str, tmp_path):
        self.server = server
        env = dict(os.environ)
        env.update({
            "RAMPART_URL": "http://127.0.0.1:%d" % server.port,
            "RAMPART_SERVICE_KEY_ID": key.access_key_id,
            "RAMPART_SERVICE_KEY_SECRET": key.access_key_secret,
            "FC_ACCOUNT": account,
            "FC_REGION": "cn-hangzhou",
            "FC_LISTEN": "127.0.0.1:0",
        })
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.log_path = tmp_path / "fc-gateway.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([example_binary()], env=env, stdout=subprocess.PIPE,
                                     stderr=self.log, stdin=subprocess.DEVNULL)
        lines = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.proc.stdout.readline()),
                         daemon=True).start()
        try:
            first = lines.get(timeout=30).decode()
        except queue.Empty:
            self.close()
            raise AssertionError("the gateway did not start; log: %s" % self.log_tail())
        assert first.startswith("fc-gateway listening on 127.0.0.1:"), (first, self.log_tail())
        self.port = int(first.split()[3].rsplit(":", 1)[1].rstrip(","))

    def log_tail(self):
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def caller(self, kind: str, creds: Credentials):
        """An official SDK client pointed at the gateway."""
        return make(kind, self.port, creds)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def fc(caller, action, **params):
    return caller.call_generic(action, params, version=FC_VERSION)


SDKS = ("tea_v3", "tea_v2", "classic", "popcore_post", "popcore_get")


@pytest.fixture
def world(server, new_account, clients_for, sts_clients_for, unique, tmp_path):
    a = Party(new_account(unique("company-a")), clients_for, sts_clients_for)
    b = Party(new_account(unique("company-b")), clients_for, sts_clients_for)
    a.role("fc-admin", docs.trust(b.arn()), "AliyunFCReadOnlyAccess")
    user = unique("b-dev")
    assumer = b.user(user, "AliyunSTSAssumeRoleAccess")
    gateway = Gateway(server, service_key(server), a.id, tmp_path)
    yield dict(a=a, b=b, assumer=assumer, user=user, role_arn=a.role_arn("fc-admin"),
               gateway=gateway)
    gateway.close()


def session_of(world, name):
    body = assume(world["b"].sts_clients(world["assumer"]).tea_v3, world["role_arn"], name)
    return session_credentials(body)


def test_s3_reads_allowed_writes_denied_until_the_policy_is_detached(world):
    a, gw = world["a"], world["gateway"]
    # The seed's Python sample: the classic AssumeRoleRequest.
    body = assume(world["b"].sts_clients(world["assumer"]).classic, world["role_arn"], "fc-dev")
    creds = session_credentials(body)
    session_arn = "acs:ram::%s:assumed-role/fc-admin/fc-dev" % a.id
    for kind in SDKS:
        caller = gw.caller(kind, creds)
        listed = fc(caller, "ListServices")
        assert listed["Services"][0]["ServiceName"] == "demo", (kind, listed)
        assert listed["Caller"] == session_arn, (kind, listed)
        assert listed["RequestId"], listed
        err = expect_error(fc, caller, "CreateService", ServiceName="new", code="NoPermission",
                           status=403)
        assert "fc:CreateService" in err.message and a.id in err.message, err

    # A detaches the policy: the credentials already issued are denied on
    # the very next call.
    a.detach("fc-admin", "AliyunFCReadOnlyAccess")
    for kind in ("tea_v3", "classic"):
        expect_error(fc, gw.caller(kind, creds), "ListServices", code="NoPermission",
                     status=403)
    # And attaching it again restores reads (nothing was cached).
    a.attach("fc-admin", "AliyunFCReadOnlyAccess")
    assert fc(gw.caller("tea_v3", creds), "ListServices")["Caller"] == session_arn

    # Every decision is in A's audit table, naming the service that asked.
    def fc_decisions(rows):
        return [r for r in rows if r["action"] in ("fc:ListServices", "fc:CreateService")]
    rows = gw.server.audit_rows(
        a.id, until=lambda rows: {r["decision"] for r in fc_decisions(rows)} >= {"Allow", "ImplicitDeny"})
    decided = fc_decisions(rows)
    assert decided and all(r["acting_service"] == SERVICE for r in decided), \
        decided[-3:]
    assert {r["decision"] for r in decided} >= {"Allow", "ImplicitDeny"}, decided[-3:]


def test_a_tampered_signature_is_refused(world):
    gw = world["gateway"]
    creds = session_of(world, "tamper")
    # Signed with the wrong secret, by the Tea SDK in V3 and V1 mode.
    for kind in ("tea_v3", "tea_v2"):
        expect_error(fc, gw.caller(kind, creds.with_wrong_secret()), "ListServices",
                     code="SignatureDoesNotMatch", status=400)
    # A hand-signed V3 request whose signature is altered on the way.
    headers = signer.v3_headers("127.0.0.1:%d" % gw.port, "ListServices", FC_VERSION)
    headers["x-acs-security-token"] = creds.security_token
    headers["Authorization"] = signer.v3_authorization(
        creds.access_key_id, creds.access_key_secret, "POST", "/", {}, headers)
    auth = headers["Authorization"]
    headers["Authorization"] = auth[:-1] + ("0" if auth[-1] != "0" else "1")
    status, body = post(gw.port, headers)
    assert (status, body["Code"]) == (400, "SignatureDoesNotMatch"), body
    # The same request intact is allowed once, and refused as a replay.
    headers["Authorization"] = auth
    status, body = post(gw.port, headers)
    assert status == 200 and body["Services"], body
    status, body = post(gw.port, headers)
    assert (status, body["Code"]) == (400, "SignatureNonceUsed"), body


def post(port, headers, body=b""):
    req = urllib.request.Request("http://127.0.0.1:%d/" % port, data=body, method="POST",
                                 headers={k: v for k, v in headers.items() if k.lower() != "host"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_expired_sessions_and_other_principals(world, test_clock):
    a, b, gw = world["a"], world["b"], world["gateway"]
    creds = session_of(world, "short")
    fc(gw.caller("tea_v3", creds), "ListServices")
    test_clock(3600)
    expect_error(fc, gw.caller("tea_v3", creds), "ListServices",
                 code="InvalidSecurityToken.Expired", status=400)
    test_clock(0)
    # B's user's own key, and B's root, have no rights on A's resources.
    for key in (world["assumer"], b.root):
        expect_error(fc, gw.caller("tea_v3", key), "ListServices", code="NoPermission",
                     status=403)
    # A's root may do anything in A.
    created = fc(gw.caller("classic", a.root), "CreateService", ServiceName="svc")
    assert created["ServiceName"] == "svc" and created["Caller"] == a.arn(), created


def test_only_a_service_key_may_ask(server, world, tmp_path):
    """A gateway configured with a RAM key instead of a service key is
    refused by rampart, and says so (503) rather than deciding."""
    a = world["a"]
    bad = Gateway(server, a.root, a.id, tmp_path / "bad")
    try:
        creds = session_of(world, "via-bad")
        expect_error(fc, bad.caller("tea_v3", creds), "ListServices",
                     code="ServiceUnavailable", status=503)
        assert "NoPermission" in bad.log_tail()
    finally:
        bad.close()

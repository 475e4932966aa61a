"""Temporary credentials after they were issued: expiry (on the server's test
clock, so nothing sleeps through 900 s), revocation, deleting the role or
the user that started the session, and a detached policy, each taking
effect on the session's next request (SCENARIOS.md S3 step 5)."""

import datetime
import time

import pytest

from rampart_e2e import docs, shapes
from rampart_e2e.errors import expect_error
from rampart_e2e.server import RampartServer
from rampart_e2e.sts_world import Party, assume, check_session_identity, session_credentials


@pytest.fixture(scope="module")
def parties(server, new_account, clients_for, sts_clients_for, unique):
    a = Party(new_account(unique("lender")), clients_for, sts_clients_for)
    b = Party(new_account(unique("borrower")), clients_for, sts_clients_for)
    return a, b


@pytest.fixture
def lent(parties, unique):
    """A fresh role of A, trusted by B, with RAM read access, and a user of B
    allowed to assume it: (a, b, role name, role ARN, assumer's STS clients)."""
    a, b = parties
    name = unique("lent")
    a.role(name, docs.trust(b.arn()), "AliyunRAMReadOnlyAccess")
    user = unique("assumer")
    creds = b.user(user, "AliyunSTSAssumeRoleAccess")
    return a, b, name, a.role_arn(name), b.sts_clients(creds), user, creds


def who(b, creds, via="tea_v3"):
    return getattr(b.sts_clients(creds), via).call("GetCallerIdentity")


def test_an_expired_session_is_refused(lent, test_clock):
    a, b, name, arn, sts, _, _ = lent
    short = session_credentials(assume(sts.tea_v3, arn, "short", DurationSeconds=900))
    hour = session_credentials(assume(sts.classic, arn, "hour"))
    test_clock(890)  # a margin: a second may tick between issue and check
    check_session_identity(who(b, short), a.id, name, "short")
    test_clock(900)
    for caller in b.sts_clients(short).all():
        err = expect_error(caller.call, "GetCallerIdentity", code="InvalidSecurityToken.Expired",
                           status=400)
        assert err.message == "Specified SecurityToken is expired.", err
    expect_error(a.clients(short).popcore_post.call, "ListRoles",
                 code="InvalidSecurityToken.Expired", status=400)
    check_session_identity(who(b, hour, "popcore_get"), a.id, name, "hour")
    test_clock(3600)
    expect_error(b.sts_clients(hour).classic.call, "GetCallerIdentity",
                 code="InvalidSecurityToken.Expired", status=400)
    # Back to now: the same token is valid again (expiry is the token's own,
    # nothing was recorded), and new sessions are issued on the shifted clock.
    test_clock(0)
    check_session_identity(who(b, hour), a.id, name, "hour")
    test_clock(7200)
    later = sts.tea_v3.call("AssumeRole", {"RoleArn": arn, "RoleSessionName": "later"})
    expires = shapes.assert_date(later["Credentials"]["Expiration"])
    left = (expires - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert 7200 + 3600 - 120 < left <= 7200 + 3600 + 5, later
    check_session_identity(who(b, session_credentials(later)), a.id, name, "later")


def revoke(a, name, via="tea_v3"):
    return getattr(a.ram, via).call_generic("RevokeRoleSessions", {"RoleName": name})


def test_revocation_ends_the_sessions_issued_before_it(lent, unique):
    a, b, name, arn, sts, _, _ = lent
    first = session_credentials(assume(sts.tea_v3, arn, "first"))
    second = session_credentials(assume(sts.popcore_post, arn, "second"))
    a.clients(first).tea_v3.call("ListRoles")

    answer = revoke(a, name)
    role = answer["Role"]
    assert role["RoleName"] == name and role["Arn"] == arn, answer
    revoked_before = shapes.assert_date(role["RevokedBefore"], recent=True)
    assert answer["RequestId"]

    for creds in (first, second):
        for caller in b.sts_clients(creds).all():
            err = expect_error(caller.call, "GetCallerIdentity",
                               code="InvalidSecurityToken.Expired", status=400)
            assert "revoked" in err.message, err
        expect_error(a.clients(creds).classic.call, "ListRoles",
                     code="InvalidSecurityToken.Expired", status=400)
    # A session issued after the revocation works at once.
    fresh = session_credentials(assume(sts.classic, arn, "fresh"))
    check_session_identity(who(b, fresh), a.id, name, "fresh")
    a.clients(fresh).popcore_post.call("ListRoles")

    # Revoking again moves the stamp forward (or keeps it), never back.
    again = revoke(a, name, "popcore_post")["Role"]
    assert shapes.assert_date(again["RevokedBefore"]) >= revoked_before

    # Who may revoke: ram:RevokeRoleSessions on the role.
    reader_name = unique("reader")
    reader = a.clients(a.user(reader_name, "AliyunRAMReadOnlyAccess"))
    expect_error(reader.tea_v3.call_generic, "RevokeRoleSessions", {"RoleName": name},
                 code="NoPermission", status=403)
    admin = a.clients(a.user(unique("admin"), "AliyunRAMFullAccess"))
    admin.classic.call_generic("RevokeRoleSessions", {"RoleName": name})
    expect_error(admin.tea_v3.call_generic, "RevokeRoleSessions", {"RoleName": "no-such-role"},
                 code="EntityNotExist.Role", status=404)
    expect_error(admin.tea_v3.call_generic, "RevokeRoleSessions", {},
                 code="MissingRoleName", status=400)
    # Another account cannot name A's role at all: its own has none.
    expect_error(b.ram.tea_v3.call_generic, "RevokeRoleSessions", {"RoleName": name},
                 code="EntityNotExist.Role", status=404)


def test_revocation_reaches_every_node(server, lent):
    """PostgreSQL pass: a second node on the same store, with the same keys."""
    if server.store != "postgres":
        pytest.skip("one node per SQLite store; the PostgreSQL pass runs two nodes")
    a, b, name, arn, sts, _, _ = lent
    node2 = RampartServer("postgres", server.postgres_url, extra_env=server.shared_keys_env(),
                          first_account=False)
    try:
        node2.start()
        creds = session_credentials(assume(sts.tea_v3, arn, "two-nodes"))
        b2 = Party(b.root, lambda c: b.clients(c).__class__(node2.port, c),
                   lambda c: b.sts_clients(c).__class__(node2.port, c, product="sts"))
        # Issued on node 1, verified on node 2 (no session table anywhere).
        check_session_identity(who(b2, creds), a.id, name, "two-nodes")
        revoke(a, name)
        deadline = time.monotonic() + 1.0
        while True:
            try:
                who(b2, creds)
            except Exception as err:  # noqa: BLE001 - the refusal is what we wait for
                assert getattr(err, "code", None) == "InvalidSecurityToken.Expired", err
                break
            assert time.monotonic() < deadline, "node 2 still accepted the session after 1 s"
            time.sleep(0.02)
        expect_error(b.sts_clients(creds).tea_v3.call, "GetCallerIdentity",
                     code="InvalidSecurityToken.Expired", status=400)
    finally:
        code = node2.stop()
        node2.cleanup()
    assert code == 0, node2.describe()


def test_deleting_the_role_ends_its_sessions(lent):
    a, b, name, arn, sts, _, _ = lent
    creds = session_credentials(assume(sts.tea_v3, arn, "doomed"))
    check_session_identity(who(b, creds), a.id, name, "doomed")
    expect_error(a.ram.tea_v3.call, "DeleteRole", {"RoleName": name},
                 code="DeleteConflict.Role.Policy", status=409)
    a.detach(name, "AliyunRAMReadOnlyAccess")
    a.ram.tea_v3.call("DeleteRole", {"RoleName": name})
    for caller in b.sts_clients(creds).all():
        err = expect_error(caller.call, "GetCallerIdentity", code="InvalidSecurityToken.Expired",
                           status=400)
        assert "no longer exists" in err.message, err
    expect_error(sts.tea_v3.call, "AssumeRole", {"RoleArn": arn, "RoleSessionName": "again"},
                 code="EntityNotExist.Role", status=404)
    # A new role of the same name is another role: the old session stays dead.
    a.role(name, docs.trust(b.arn()), "AliyunRAMReadOnlyAccess")
    expect_error(b.sts_clients(creds).classic.call, "GetCallerIdentity",
                 code="InvalidSecurityToken.Expired", status=400)
    fresh = session_credentials(assume(sts.classic, arn, "reborn"))
    check_session_identity(who(b, fresh), a.id, name, "reborn")


def test_deleting_the_user_who_started_the_session_ends_it(lent):
    a, b, name, arn, sts, user, user_creds = lent
    creds = session_credentials(assume(sts.popcore_post, arn, "orphan"))
    check_session_identity(who(b, creds), a.id, name, "orphan")
    b.delete_user(user, user_creds, "AliyunSTSAssumeRoleAccess")
    for caller in b.sts_clients(creds).all():
        err = expect_error(caller.call, "GetCallerIdentity", code="InvalidSecurityToken.Expired",
                           status=400)
        assert "user who started the session no longer exists" in err.message, err
    expect_error(a.clients(creds).tea_v3.call, "ListRoles", code="InvalidSecurityToken.Expired",
                 status=400)
    # The user's own keys went with it.
    expect_error(sts.tea_v3.call, "AssumeRole", {"RoleArn": arn, "RoleSessionName": "gone"},
                 code="InvalidAccessKeyId.NotFound", status=404)


def test_detaching_the_role_s_policy_takes_effect_on_the_next_request(lent):
    a, b, name, arn, sts, _, _ = lent
    creds = session_credentials(assume(sts.tea_v3, arn, "reader"))
    ram = a.clients(creds)
    for caller in (ram.tea_v3, ram.classic, ram.popcore_post):
        caller.call("GetRole", {"RoleName": name})
    a.detach(name, "AliyunRAMReadOnlyAccess")
    for caller in (ram.tea_v3, ram.classic, ram.popcore_post):
        expect_error(caller.call, "GetRole", {"RoleName": name}, code="NoPermission", status=403)
    # The session itself is still valid: it is its rights that changed.
    check_session_identity(who(b, creds), a.id, name, "reader")
    a.attach(name, "AliyunRAMReadOnlyAccess")
    ram.tea_v3.call("GetRole", {"RoleName": name})

"""Role chaining: a session of role X in account A assumes role Y in account
B. The last hop's GetCallerIdentity names the last role session; the audit
table records the whole chain, from the user who started it; a chained
session lasts at most one hour whatever Y allows."""

import pytest

from rampart_e2e import docs, shapes
from rampart_e2e.errors import expect_error
from rampart_e2e.sts_world import Party, assume, check_session_identity, session_credentials


@pytest.fixture(scope="module")
def chain(server, new_account, clients_for, sts_clients_for, unique):
    a = Party(new_account(unique("hub")), clients_for, sts_clients_for)
    b = Party(new_account(unique("spoke")), clients_for, sts_clients_for)
    # In A: X, trusted by B's root, allowed to assume roles.
    x = a.role("hop-x", docs.trust(b.arn()), "AliyunSTSAssumeRoleAccess")
    # In B: Y, trusted only by sessions of A's X, with RAM reads in B and a
    # longer maximum than a chained session may have.
    y = b.role("hop-y", docs.trust(a.role_arn("hop-x")), "AliyunRAMReadOnlyAccess",
               max_session=7200)
    user = b.user("chain-starter", "AliyunSTSAssumeRoleAccess")
    return {"a": a, "b": b, "x": x, "y": y, "user": user}


def test_two_hops_across_accounts(chain, server):
    a, b = chain["a"], chain["b"]
    x_arn, y_arn = a.role_arn("hop-x"), b.role_arn("hop-y")
    first = assume(b.sts_clients(chain["user"]).tea_v3, x_arn, "first")
    x_creds = session_credentials(first)
    check_session_identity(b.sts_clients(x_creds).tea_v3.call("GetCallerIdentity"),
                           a.id, "hop-x", "first", chain["x"]["RoleId"])

    # The second hop, through the classic SDK and pop-core as well.
    x_sts = b.sts_clients(x_creds)
    second = assume(x_sts.tea_v3, y_arn, "second")
    assume(x_sts.classic, y_arn, "second-classic")
    assume(x_sts.popcore_post, y_arn, "second-node")
    y_creds = session_credentials(second)
    y_sts = b.sts_clients(y_creds)
    answers = [caller.call("GetCallerIdentity") for caller in y_sts.all()]
    for got in answers:
        check_session_identity(got, b.id, "hop-y", "second", chain["y"]["RoleId"])
    # The session acts in B with Y's rights.
    roles = shapes.items(b.clients(y_creds).tea_v3.call("ListRoles"), "Roles", "Role")
    assert "hop-y" in [r["RoleName"] for r in roles]
    expect_error(b.clients(y_creds).tea_v3.call, "CreateUser", {"UserName": "nope"},
                 code="NoPermission", status=403)

    # The audit table of B names the whole chain for the last hop's calls.
    expected = [
        "acs:ram::%s:user/chain-starter" % b.id,
        "%s/first" % x_arn,
        "%s/second" % y_arn,
    ]
    rows = {r["request_id"]: r
            for r in server.audit_rows(b.id, wait_for=[g["RequestId"] for g in answers])}
    for got in answers:
        row = rows[got["RequestId"]]
        assert row["action"] == "sts:GetCallerIdentity", row
        assert row["principal_chain"] == expected, row
        assert row["principal_arn"] == expected[-1], row
        assert row["session_id"], row
    # The second AssumeRole was made by X's session: in A's table (the
    # caller's) and B's (the role's), with X's chain and the issued session.
    for account in (a.id, b.id):
        row = {r["request_id"]: r for r in server.audit_rows(
            account, wait_for=[second["RequestId"]])}[second["RequestId"]]
        assert row["action"] == "sts:AssumeRole" and row["decision"] == "Allow", row
        assert row["resource"] == y_arn, row
        assert row["principal_chain"] == expected[:2], row
        assert row["issued_session_id"] == rows[answers[0]["RequestId"]]["session_id"], row


def test_only_the_named_role_may_chain(chain):
    a, b = chain["a"], chain["b"]
    y_arn = b.role_arn("hop-y")
    # The user who started the chain may not skip the hop: Y trusts X only.
    expect_error(b.sts_clients(chain["user"]).tea_v3.call, "AssumeRole",
                 {"RoleArn": y_arn, "RoleSessionName": "skip"}, code="NoPermission", status=403)
    # Another role of A, trusted by B and able to assume roles, is not X.
    a.role("hop-z", docs.trust(b.arn()), "AliyunSTSAssumeRoleAccess")
    z = session_credentials(assume(b.sts_clients(chain["user"]).classic, a.role_arn("hop-z"), "zed"))
    expect_error(b.sts_clients(z).tea_v3.call, "AssumeRole",
                 {"RoleArn": y_arn, "RoleSessionName": "from-z"}, code="NoPermission", status=403)
    # X without sts:AssumeRole in its own policies: trust alone is not enough.
    a.detach("hop-x", "AliyunSTSAssumeRoleAccess")
    try:
        x = session_credentials(assume(b.sts_clients(chain["user"]).tea_v3, a.role_arn("hop-x"),
                                       "bare"))
        expect_error(b.sts_clients(x).popcore_post.call, "AssumeRole",
                     {"RoleArn": y_arn, "RoleSessionName": "bare"}, code="NoPermission",
                     status=403)
    finally:
        a.attach("hop-x", "AliyunSTSAssumeRoleAccess")


def test_a_chained_session_lasts_at_most_an_hour(chain):
    a, b = chain["a"], chain["b"]
    y_arn = b.role_arn("hop-y")
    # Y allows two hours to its direct callers...
    y_direct = b.role("hop-y-direct", docs.trust(b.arn()), max_session=7200)
    assert y_direct["MaxSessionDuration"] == 7200
    assume(b.sts_clients(chain["user"]).tea_v3, b.role_arn("hop-y-direct"), "direct",
           DurationSeconds=7200)
    # ...but a session opened by a role session is capped at 3600 s.
    x = session_credentials(assume(b.sts_clients(chain["user"]).tea_v3, a.role_arn("hop-x"),
                                   "capped"))
    for caller in b.sts_clients(x).all():
        err = expect_error(caller.call, "AssumeRole",
                           {"RoleArn": y_arn, "RoleSessionName": "long",
                            "DurationSeconds": 3601},
                           code="InvalidParameter.DurationSeconds", status=400)
        assert err.message == "The Min/Max value of DurationSeconds is 15min/1hr.", err
    assume(b.sts_clients(x).classic, y_arn, "hour", DurationSeconds=3600)

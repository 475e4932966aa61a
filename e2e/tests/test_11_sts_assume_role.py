"""STS AssumeRole and GetCallerIdentity through every official SDK: the
seed 003 flow (SCENARIOS.md S3) and each documented refusal.

Account A (company-a) owns role `fc-admin`, trusted by B's root, with the
system policy AliyunFCReadOnlyAccess as in the seed, plus
AliyunRAMReadOnlyAccess so that the session's reads of A can be seen
through the RAM API (rampart serves no Function Compute API). A RAM user of
B with AliyunSTSAssumeRoleAccess assumes it."""

import pytest

from rampart_e2e import docs, shapes
from rampart_e2e.errors import expect_error
from rampart_e2e.sdk import Credentials
from rampart_e2e.sts_world import (Party, assume, check_assume_role_body,
                                   check_session_identity, session_credentials, session_policy)

READ_POLICIES = ("AliyunFCReadOnlyAccess", "AliyunRAMReadOnlyAccess")


@pytest.fixture(scope="module")
def world(server, new_account, clients_for, sts_clients_for, unique):
    a = Party(new_account(unique("company-a")), clients_for, sts_clients_for)
    b = Party(new_account(unique("company-b")), clients_for, sts_clients_for)
    c = Party(new_account(unique("company-c")), clients_for, sts_clients_for)
    role = a.role("fc-admin", docs.trust(b.arn()), *READ_POLICIES)
    w = {
        "a": a, "b": b, "c": c, "role": role, "role_arn": a.role_arn("fc-admin"),
        "assumer": b.user("b-assumer", "AliyunSTSAssumeRoleAccess"),
        "plain": b.user("b-plain"),
        "outsider": c.user("c-assumer", "AliyunSTSAssumeRoleAccess"),
    }
    return w


def test_seed_003_assume_role_through_each_sdk(world):
    a, b, role_arn = world["a"], world["b"], world["role_arn"]
    sts = b.sts_clients(world["assumer"])
    answers = {}
    # The seed's Python sample: aliyunsdksts AssumeRoleRequest, set_RoleArn,
    # set_RoleSessionName, do_action_with_exception.
    answers["classic"] = assume(sts.classic, role_arn, "fc-python-sdk")
    # The Tea STS client (alibabacloud_sts20150401), V3 signatures.
    answers["tea-v3"] = assume(sts.tea_v3, role_arn, "fc-tea-sdk")
    # The seed's Node.js sample: pop-core request('AssumeRole', {RegionId,
    # RoleArn, RoleSessionName}, {method: 'POST'}).
    answers["pop-core"] = assume(sts.popcore_post, role_arn, "fc-node-sdk", RegionId="cn-hangzhou")
    # And the Tea client in V1 mode, and pop-core with GET.
    answers["tea-v2"] = assume(sts.tea_v2, role_arn, "fc-tea-v2")
    answers["pop-core-get"] = assume(sts.popcore_get, role_arn, "fc-node-get")

    ids = {body["Credentials"]["AccessKeyId"] for body in answers.values()}
    assert len(ids) == len(answers), "every AssumeRole issues new credentials"
    for sdk, body in answers.items():
        assert body["AssumedRoleUser"]["AssumedRoleId"].split(":")[0] == world["role"]["RoleId"]
        session = body["AssumedRoleUser"]["Arn"].rsplit("/", 1)[1]
        creds = session_credentials(body)
        # Every SDK signs with the temporary credentials, token included.
        for caller in b.sts_clients(creds).all():
            got = caller.call("GetCallerIdentity")
            check_session_identity(got, a.id, "fc-admin", session, world["role"]["RoleId"])
        ram = a.clients(creds)
        for caller in (ram.tea_v3, ram.classic, ram.popcore_post):
            roles = shapes.items(caller.call("ListRoles"), "Roles", "Role")
            assert [r["RoleName"] for r in roles] == ["fc-admin"], (sdk, caller, roles)
            got = caller.call("GetRole", {"RoleName": "fc-admin"})["Role"]
            assert got["Arn"] == role_arn
        # Reads only: the role has no write permission in A.
        expect_error(ram.tea_v3.call, "CreateUser", {"UserName": "not-allowed"},
                     code="NoPermission", status=403)
        expect_error(ram.popcore_post.call, "DeleteRole", {"RoleName": "fc-admin"},
                     code="NoPermission", status=403)


def test_get_caller_identity_of_root_and_user(world):
    b = world["b"]
    for caller in b.sts.all():
        got = caller.call("GetCallerIdentity")
        assert got["IdentityType"] == "Account", got
        assert got["AccountId"] == b.id and got["Arn"] == b.arn(), got
        assert got["PrincipalId"] == b.id and got["UserId"] == b.id, got
        assert "RoleId" not in got
    user = b.ram.tea_v3.call("GetUser", {"UserName": "b-plain"})["User"]
    for caller in b.sts_clients(world["plain"]).all():
        got = caller.call("GetCallerIdentity")
        assert got["IdentityType"] == "RAMUser", got
        assert got["Arn"] == "acs:ram::%s:user/b-plain" % b.id, got
        assert got["UserId"] == got["PrincipalId"] == user["UserId"], got


def test_who_may_assume(world):
    b, c, role_arn = world["b"], world["c"], world["role_arn"]
    params = {"RoleArn": role_arn, "RoleSessionName": "refused"}
    # Trusted account, but the user lacks sts:AssumeRole in its own policies.
    for caller in b.sts_clients(world["plain"]).all():
        expect_error(caller.call, "AssumeRole", params, code="NoPermission", status=403,
                     message_contains="You are not authorized to do this action")
    # A user of an account the trust policy does not name.
    for caller in c.sts_clients(world["outsider"]).all():
        expect_error(caller.call, "AssumeRole", params, code="NoPermission", status=403)
    # Root keys, even of the trusted account.
    for caller in (b.sts.tea_v3, b.sts.classic, b.sts.popcore_post):
        expect_error(caller.call, "AssumeRole", params, code="NoPermission", status=403,
                     message_contains="Roles may not be assumed by root accounts.")
    expect_error(world["a"].sts.tea_v3.call, "AssumeRole", params, code="NoPermission",
                 status=403)


def test_parameter_refusals(world):
    b, role_arn = world["b"], world["role_arn"]
    sts = b.sts_clients(world["assumer"])
    a_id = world["a"].id
    cases = [
        # (params, code)
        ({"RoleArn": "acs:ram::%s:user/fc-admin" % a_id, "RoleSessionName": "s1"},
         "InvalidParameter.RoleArn"),
        ({"RoleArn": "arn:aws:iam::1:role/x", "RoleSessionName": "s1"}, "InvalidParameter.RoleArn"),
        ({"RoleArn": "acs:ram::%s:role/bad_name" % a_id, "RoleSessionName": "s1"},
         "InvalidParameter.RoleArn"),
        ({"RoleArn": role_arn, "RoleSessionName": "x"}, "InvalidParameter.RoleSessionName"),
        ({"RoleArn": role_arn, "RoleSessionName": "has space"}, "InvalidParameter.RoleSessionName"),
        ({"RoleArn": role_arn, "RoleSessionName": "s" * 65}, "InvalidParameter.RoleSessionName"),
        # Above the role's MaxSessionDuration (3600), and below 900.
        ({"RoleArn": role_arn, "RoleSessionName": "s1", "DurationSeconds": 3601},
         "InvalidParameter.DurationSeconds"),
        ({"RoleArn": role_arn, "RoleSessionName": "s1", "DurationSeconds": 899},
         "InvalidParameter.DurationSeconds"),
        ({"RoleArn": role_arn, "RoleSessionName": "s1", "Policy": "{not json"},
         "InvalidParameter.PolicyGrammar"),
        ({"RoleArn": role_arn, "RoleSessionName": "s1",
          "Policy": '{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:ListRoles"}]}'},
         "InvalidParameter.PolicyGrammar"),
        ({"RoleSessionName": "s1"}, "MissingParameter.RoleArn"),
        ({"RoleArn": role_arn}, "MissingParameter.RoleSessionName"),
    ]
    for params, code in cases:
        for caller in (sts.tea_v3, sts.classic, sts.popcore_post):
            err = expect_error(caller.call, "AssumeRole", params, code=code, status=400)
        if code == "InvalidParameter.DurationSeconds" and params["DurationSeconds"] > 3600:
            assert err.message == "The Min/Max value of DurationSeconds is 15min/1hr.", err
    # A role that does not exist, in the trusted account or anywhere.
    for arn in (world["a"].role_arn("no-such-role"), "acs:ram::1234567890123456:role/fc-admin"):
        expect_error(sts.tea_v3.call, "AssumeRole", {"RoleArn": arn, "RoleSessionName": "s1"},
                     code="EntityNotExist.Role", status=404)
    # In range: 900 s exactly.
    assume(sts.classic, role_arn, "short", DurationSeconds=900)


def test_a_session_policy_only_narrows(world):
    a, b, role_arn = world["a"], world["b"], world["role_arn"]
    sts = b.sts_clients(world["assumer"])
    # Tries to widen to everything: the session still has only the role's
    # rights (reads), never more.
    wide = session_policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    creds = session_credentials(assume(sts.tea_v3, role_arn, "wide", Policy=wide))
    ram = a.clients(creds)
    ram.tea_v3.call("ListRoles")
    for caller in (ram.tea_v3, ram.classic, ram.popcore_post):
        expect_error(caller.call, "CreateUser", {"UserName": "widened"}, code="NoPermission",
                     status=403)
        expect_error(caller.call, "AttachPolicyToRole",
                     {"PolicyType": "System", "PolicyName": "AdministratorAccess",
                      "RoleName": "fc-admin"}, code="NoPermission", status=403)
    # Narrower than the role: only GetRole.
    narrow = session_policy({"Effect": "Allow", "Action": "ram:GetRole", "Resource": "*"})
    creds = session_credentials(assume(sts.popcore_post, role_arn, "narrow", Policy=narrow))
    ram = a.clients(creds)
    ram.classic.call("GetRole", {"RoleName": "fc-admin"})
    expect_error(ram.classic.call, "ListRoles", code="NoPermission", status=403)
    # A Deny in the session policy wins over the role's Allow.
    deny = session_policy({"Effect": "Allow", "Action": "*", "Resource": "*"},
                          {"Effect": "Deny", "Action": "ram:GetRole", "Resource": "*"})
    creds = session_credentials(assume(sts.classic, role_arn, "denying", Policy=deny))
    ram = a.clients(creds)
    ram.tea_v3.call("ListRoles")
    expect_error(ram.tea_v3.call, "GetRole", {"RoleName": "fc-admin"}, code="NoPermission",
                 status=403)


def test_tokens_that_do_not_belong(world):
    b, role_arn = world["b"], world["role_arn"]
    sts = b.sts_clients(world["assumer"])
    first = session_credentials(assume(sts.tea_v3, role_arn, "token-a"))
    second = session_credentials(assume(sts.tea_v3, role_arn, "token-b"))
    token = first.security_token
    middle = len(token) // 2
    flipped = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1:]
    cases = [
        # A flipped byte in the token.
        (Credentials(first.access_key_id, first.access_key_secret, security_token=flipped),
         "InvalidSecurityToken.Malformed"),
        # A genuine token with another session's AccessKeyId (and secret).
        (Credentials(second.access_key_id, second.access_key_secret, security_token=token),
         "InvalidSecurityToken.MismatchWithAccessKey"),
        # Not a token at all.
        (Credentials(first.access_key_id, first.access_key_secret, security_token="v1.x.y"),
         "InvalidSecurityToken.Malformed"),
    ]
    for creds, code in cases:
        for caller in b.sts_clients(creds).all():
            expect_error(caller.call, "GetCallerIdentity", code=code, status=400)
    # An STS AccessKeyId without its token.
    bare = Credentials(first.access_key_id, first.access_key_secret)
    for caller in b.sts_clients(bare).all():
        expect_error(caller.call, "GetCallerIdentity", code="MissingSecurityToken", status=400)
    # The right token with a wrong secret is a bad signature.
    wrong = Credentials(first.access_key_id, second.access_key_secret, security_token=token)
    expect_error(b.sts_clients(wrong).tea_v2.call, "GetCallerIdentity",
                 code="SignatureDoesNotMatch", status=400)
    # And the genuine pair still works.
    check_session_identity(b.sts_clients(first).tea_v3.call("GetCallerIdentity"),
                           world["a"].id, "fc-admin", "token-a")


def test_assume_role_is_audited_in_both_accounts(world, server):
    a, b, role_arn = world["a"], world["b"], world["role_arn"]
    sts = b.sts_clients(world["assumer"])
    body = assume(sts.tea_v3, role_arn, "audited")
    refused = expect_error(b.sts_clients(world["plain"]).tea_v3.call, "AssumeRole",
                           {"RoleArn": role_arn, "RoleSessionName": "audited"},
                           code="NoPermission", status=403)
    for account in (a.id, b.id):
        rows = {r["request_id"]: r for r in server.audit_rows(
            account, wait_for=[body["RequestId"], refused.request_id])}
        ok = rows[body["RequestId"]]
        assert ok["action"] == "sts:AssumeRole" and ok["decision"] == "Allow", ok
        assert ok["resource"] == role_arn, ok
        assert ok["principal_arn"] == "acs:ram::%s:user/b-assumer" % b.id, ok
        assert ok["deciding_statement"].startswith("System:AliyunSTSAssumeRoleAccess"), ok
        assert ok["issued_session_id"], ok
        denied = rows[refused.request_id]
        assert denied["decision"] == "ImplicitDeny" and denied["error_code"] == "NoPermission"
        assert denied["issued_session_id"] is None
    # The session's own calls carry its chain and id.
    creds = session_credentials(body)
    who = b.sts_clients(creds).classic.call("GetCallerIdentity")
    row = {r["request_id"]: r for r in server.audit_rows(
        a.id, wait_for=[who["RequestId"]])}[who["RequestId"]]
    assert row["principal_chain"] == ["acs:ram::%s:user/b-assumer" % b.id,
                                      "%s/audited" % role_arn], row
    issued = {r["request_id"]: r for r in server.audit_rows(a.id)}[body["RequestId"]]
    assert row["session_id"] == issued["issued_session_id"], (row, issued)


def test_role_sessions_cannot_reach_the_root_keys(world):
    a, b, role_arn = world["a"], world["b"], world["role_arn"]
    a.attach("fc-admin", "AliyunRAMFullAccess")
    try:
        creds = session_credentials(assume(b.sts_clients(world["assumer"]).tea_v3, role_arn,
                                           "keys"))
        ram = a.clients(creds)
        for action in ("CreateAccessKey", "ListAccessKeys"):
            expect_error(ram.tea_v3.call, action, code="MissingUserName", status=400)
        roots = shapes.items(a.ram.tea_v3.call("ListAccessKeys"), "AccessKeys", "AccessKey")
        assert [k["AccessKeyId"] for k in roots] == [a.root.access_key_id]
    finally:
        a.detach("fc-admin", "AliyunRAMFullAccess")

"""Accounts are walls: a principal of account A can neither see nor change
account B's users, whatever names they share."""

from rampart_e2e import docs, shapes
from rampart_e2e.errors import expect_error
from rampart_e2e.sdk import Credentials


def names(caller):
    return sorted(u["UserName"] for u in shapes.items(
        caller.call("ListUsers", {"MaxItems": 1000}), "Users", "User"))


def test_accounts_are_isolated(new_account, clients_for, unique):
    a = new_account()
    b = new_account()
    assert a.account_id != b.account_id
    assert a.access_key_id != b.access_key_id
    ca, cb = clients_for(a), clients_for(b)

    shared = unique("shared")
    only_b = unique("only-b")
    ua = ca.tea_v3.call("CreateUser", {"UserName": shared, "DisplayName": "A's"})["User"]
    ub = cb.classic.call("CreateUser", {"UserName": shared, "DisplayName": "B's"})["User"]
    assert ua["UserId"] != ub["UserId"]
    cb.popcore_post.call("CreateUser", {"UserName": only_b})
    b_before = names(cb.tea_v3)
    assert b_before == sorted([shared, only_b])

    # A RAM user of A with full RAM rights.
    admin = unique("admin")
    ca.tea_v3.call("CreateUser", {"UserName": admin})
    ca.tea_v3.call("AttachPolicyToUser", {"PolicyType": "System",
                                          "PolicyName": "AliyunRAMFullAccess",
                                          "UserName": admin})
    k = ca.tea_v3.call("CreateAccessKey", {"UserName": admin})["AccessKey"]
    admin_clients = clients_for(Credentials(k["AccessKeyId"], k["AccessKeySecret"]))

    for caller in (ca.tea_v3, admin_clients.popcore_get, admin_clients.tea_v2):
        assert names(caller) == sorted([shared, admin]), caller
        expect_error(caller.call, "GetUser", {"UserName": only_b},
                     code="EntityNotExist.User", status=404)
        got = caller.call("GetUser", {"UserName": shared})["User"]
        assert (got["UserId"], got["DisplayName"]) == (ua["UserId"], "A's")

    # Changing "B's" user by name only ever reaches A's namesake, or nothing.
    expect_error(admin_clients.classic.call, "DeleteUser", {"UserName": only_b},
                 code="EntityNotExist.User", status=404)
    admin_clients.tea_v3.call("UpdateUser", {"UserName": shared, "NewDisplayName": "changed by A"})
    expect_error(admin_clients.tea_v3.call, "CreateAccessKey", {"UserName": only_b},
                 code="EntityNotExist.User", status=404)
    expect_error(admin_clients.tea_v3.call, "AttachPolicyToUser",
                 {"PolicyType": "System", "PolicyName": "AdministratorAccess",
                  "UserName": only_b},
                 code="EntityNotExist.User", status=404)

    assert names(cb.tea_v3) == b_before
    got_b = cb.tea_v3.call("GetUser", {"UserName": shared})["User"]
    assert (got_b["UserId"], got_b["DisplayName"]) == (ub["UserId"], "B's")
    assert shapes.items(cb.tea_v3.call("ListAccessKeys", {"UserName": only_b}),
                        "AccessKeys", "AccessKey") == []
    assert shapes.items(cb.tea_v3.call("ListPoliciesForUser", {"UserName": only_b}),
                        "Policies", "Policy") == []

    # B's key with A's secret is just a bad signature; keys are per account.
    crossed = clients_for(Credentials(b.access_key_id, a.access_key_secret))
    expect_error(crossed.tea_v2.call, "ListUsers", code="SignatureDoesNotMatch", status=400)

    # A's custom policies are invisible to B, and B cannot attach them.
    pol = unique("a-only")
    ca.tea_v3.call("CreatePolicy", {"PolicyName": pol, "PolicyDocument": docs.allow("ram:*")})
    expect_error(cb.tea_v3.call, "GetPolicy", {"PolicyName": pol, "PolicyType": "Custom"},
                 code="EntityNotExist.Policy", status=404)
    expect_error(cb.tea_v3.call, "AttachPolicyToUser",
                 {"PolicyType": "Custom", "PolicyName": pol, "UserName": only_b},
                 code="EntityNotExist.Policy", status=404)

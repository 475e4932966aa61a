"""Role lifecycle: CreateRole with a trust policy, GetRole, UpdateRole,
ListRoles, and DeleteRole refused while a policy is attached."""

from rampart_e2e import docs, shapes
from rampart_e2e.errors import expect_error
from rampart_e2e.state import unchanged


def assert_role_arn(role, account_id):
    # Alibaba's doc examples lower-case the role name in ARNs; whether that is
    # required is unconfirmed, so the name part compares case-insensitively.
    prefix = "acs:ram::%s:role/" % account_id
    assert role["Arn"].startswith(prefix), role["Arn"]
    assert role["Arn"][len(prefix):].lower() == role["RoleName"].lower(), role["Arn"]


def test_role_lifecycle(clients, root, unique):
    name = unique("Reader")
    doc1 = docs.trust("acs:ram::%s:root" % root.account_id)
    created = clients.tea_v3.call("CreateRole", {
        "RoleName": name, "AssumeRolePolicyDocument": doc1, "Description": "e2e reader"})["Role"]
    shapes.assert_keys(created, ["RoleId", "RoleName", "Arn", "Description",
                                 "AssumeRolePolicyDocument", "MaxSessionDuration",
                                 "CreateDate"], "Role")
    shapes.assert_id(created["RoleId"])
    assert created["RoleName"] == name
    assert created["Description"] == "e2e reader"
    assert docs.same_json(created["AssumeRolePolicyDocument"], doc1)
    assert created["MaxSessionDuration"] == 3600
    shapes.assert_date(created["CreateDate"], recent=True)
    assert_role_arn(created, root.account_id)

    got = clients.classic.call("GetRole", {"RoleName": name})["Role"]
    shapes.assert_keys(got, ["RoleId", "RoleName", "Arn", "Description",
                             "AssumeRolePolicyDocument", "MaxSessionDuration", "CreateDate",
                             "UpdateDate", "IsServiceLinkedRole"], "GetRole.Role")
    assert (got["RoleId"], got["Arn"], got["CreateDate"]) == (
        created["RoleId"], created["Arn"], created["CreateDate"])
    assert got["IsServiceLinkedRole"] is False
    assert docs.same_json(got["AssumeRolePolicyDocument"], doc1)
    shapes.assert_date(got["UpdateDate"])

    doc2 = docs.trust("acs:ram::%s:root" % root.account_id, service="ecs.aliyuncs.com")
    updated = clients.tea_v2.call("UpdateRole", {
        "RoleName": name, "NewAssumeRolePolicyDocument": doc2,
        "NewDescription": "e2e reader v2", "NewMaxSessionDuration": 7200})["Role"]
    assert updated["RoleId"] == created["RoleId"]
    assert docs.same_json(updated["AssumeRolePolicyDocument"], doc2)
    assert updated["Description"] == "e2e reader v2"
    assert updated["MaxSessionDuration"] == 7200
    assert shapes.assert_date(updated["UpdateDate"]) >= shapes.assert_date(created["CreateDate"])

    again = clients.popcore_get.call("GetRole", {"RoleName": name})["Role"]
    assert docs.same_json(again["AssumeRolePolicyDocument"], doc2)
    assert again["MaxSessionDuration"] == 7200

    listed = shapes.items(clients.popcore_post.call("ListRoles", {"MaxItems": 1000}),
                          "Roles", "Role")
    mine = [r for r in listed if r["RoleName"] == name]
    assert len(mine) == 1, listed
    assert mine[0]["RoleId"] == created["RoleId"]
    assert mine[0]["Arn"] == created["Arn"]
    assert "AssumeRolePolicyDocument" not in mine[0], "ListRoles items carry no trust policy"

    # DeleteRole is refused while a policy is attached.
    policy = unique("RoleReader")
    clients.tea_v3.call("CreatePolicy", {"PolicyName": policy,
                                         "PolicyDocument": docs.allow("ram:Get*")})
    clients.tea_v3.call("AttachPolicyToRole", {"PolicyType": "Custom", "PolicyName": policy,
                                               "RoleName": name})
    attached = shapes.items(clients.tea_v2.call("ListPoliciesForRole", {"RoleName": name}),
                            "Policies", "Policy")
    assert [(p["PolicyName"], p["PolicyType"]) for p in attached] == [(policy, "Custom")]
    with unchanged(clients.tea_v3):
        expect_error(clients.classic.call, "DeleteRole", {"RoleName": name},
                     code="DeleteConflict.Role.Policy", status=409)
    assert clients.tea_v3.call("GetRole", {"RoleName": name})["Role"]["RoleId"] == created["RoleId"]

    clients.tea_v3.call("DetachPolicyFromRole", {"PolicyType": "Custom", "PolicyName": policy,
                                                 "RoleName": name})
    clients.classic.call("DeleteRole", {"RoleName": name})
    expect_error(clients.tea_v3.call, "GetRole", {"RoleName": name},
                 code="EntityNotExist.Role", status=404)
    listed = shapes.items(clients.tea_v3.call("ListRoles", {"MaxItems": 1000}), "Roles", "Role")
    assert name not in [r["RoleName"] for r in listed]
    clients.tea_v3.call("DeletePolicy", {"PolicyName": policy})


def test_role_errors_change_nothing(clients, root, unique):
    name = unique("Dup")
    doc = docs.trust("acs:ram::%s:root" % root.account_id)
    clients.tea_v3.call("CreateRole", {"RoleName": name, "AssumeRolePolicyDocument": doc,
                                       "Description": "original"})
    with unchanged(clients.tea_v3):
        expect_error(clients.tea_v3.call, "CreateRole",
                     {"RoleName": name, "AssumeRolePolicyDocument": doc,
                      "Description": "second"},
                     code="EntityAlreadyExists.Role", status=409)
        expect_error(clients.popcore_post.call, "CreateRole",
                     {"RoleName": unique("Bad") + "!", "AssumeRolePolicyDocument": doc},
                     code="InvalidParameter.RoleName.InvalidChars", status=400)
        expect_error(clients.tea_v2.call, "CreateRole",
                     {"RoleName": "r" * 65, "AssumeRolePolicyDocument": doc},
                     code="InvalidParameter.RoleName.Length", status=400)
        expect_error(clients.classic.call, "CreateRole",
                     {"RoleName": unique("Malformed"), "AssumeRolePolicyDocument": "{not json"},
                     code="MalformedPolicyDocument", status=400)
        expect_error(clients.tea_v3.call, "UpdateRole",
                     {"RoleName": name, "NewAssumeRolePolicyDocument": '{"Version":"1"}'},
                     code="MalformedPolicyDocument", status=400)
        expect_error(clients.tea_v3.call, "UpdateRole",
                     {"RoleName": unique("Ghost"), "NewDescription": "x"},
                     code="EntityNotExist.Role", status=404)
        expect_error(clients.tea_v3.call, "DeleteRole", {"RoleName": unique("Ghost")},
                     code="EntityNotExist.Role", status=404)
    assert clients.tea_v3.call("GetRole", {"RoleName": name})["Role"]["Description"] == "original"
    clients.tea_v3.call("DeleteRole", {"RoleName": name})

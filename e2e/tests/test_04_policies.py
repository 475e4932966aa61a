"""Custom policies and their versions: the limit of 5, the rotation strategy,
SetDefaultPolicyVersion, and what cannot be deleted."""

import json

from rampart_e2e import docs, shapes
from rampart_e2e.errors import expect_error
from rampart_e2e.state import unchanged


def versions(caller, name):
    body = caller.call("ListPolicyVersions", {"PolicyName": name, "PolicyType": "Custom"})
    return shapes.items(body, "PolicyVersions", "PolicyVersion")


def version_summary(caller, name):
    return sorted((v["VersionId"], v["IsDefaultVersion"]) for v in versions(caller, name))


def test_create_and_get_policy_shapes(clients, unique):
    name = unique("ReadUsers")
    doc = docs.allow("ram:GetUser", "ram:ListUsers")
    created = clients.classic.call("CreatePolicy", {
        "PolicyName": name, "PolicyDocument": doc, "Description": "e2e"})["Policy"]
    shapes.assert_keys(created, ["PolicyName", "PolicyType", "Description", "DefaultVersion",
                                 "CreateDate"], "Policy")
    assert (created["PolicyName"], created["PolicyType"], created["Description"],
            created["DefaultVersion"]) == (name, "Custom", "e2e", "v1")
    shapes.assert_date(created["CreateDate"], recent=True)

    got = clients.popcore_get.call("GetPolicy", {"PolicyName": name, "PolicyType": "Custom"})
    policy, default = got["Policy"], got["DefaultPolicyVersion"]
    assert policy["DefaultVersion"] == "v1"
    assert policy["AttachmentCount"] == 0
    assert docs.same_json(policy["PolicyDocument"], doc)
    assert (default["VersionId"], default["IsDefaultVersion"]) == ("v1", True)
    assert docs.same_json(default["PolicyDocument"], doc)
    shapes.assert_date(default["CreateDate"], recent=True)

    system = clients.tea_v2.call("GetPolicy", {"PolicyName": "AliyunRAMReadOnlyAccess",
                                               "PolicyType": "System"})["Policy"]
    assert (system["PolicyName"], system["PolicyType"]) == ("AliyunRAMReadOnlyAccess", "System")
    assert "ram:" in system["PolicyDocument"]

    listed = shapes.items(clients.tea_v3.call("ListPolicies", {"PolicyType": "Custom",
                                                                "MaxItems": 1000}),
                          "Policies", "Policy")
    mine = [p for p in listed if p["PolicyName"] == name]
    assert len(mine) == 1 and mine[0]["PolicyType"] == "Custom"
    assert mine[0]["AttachmentCount"] == 0
    assert all(p["PolicyType"] == "Custom" for p in listed)
    clients.tea_v3.call("DeletePolicy", {"PolicyName": name})
    expect_error(clients.tea_v3.call, "GetPolicy", {"PolicyName": name, "PolicyType": "Custom"},
                 code="EntityNotExist.Policy", status=404)


def test_policy_versions_limit_rotation_and_default(clients, unique):
    name = unique("Versioned")
    clients.tea_v3.call("CreatePolicy", {"PolicyName": name,
                                         "PolicyDocument": docs.allow("ram:GetUser")})
    for n in range(2, 6):
        pv = clients.tea_v3.call("CreatePolicyVersion", {
            "PolicyName": name, "PolicyDocument": docs.allow("ram:GetUser%d" % n),
            "SetAsDefault": False})["PolicyVersion"]
        assert (pv["VersionId"], pv["IsDefaultVersion"]) == ("v%d" % n, False)
        assert docs.same_json(pv["PolicyDocument"], docs.allow("ram:GetUser%d" % n))
        shapes.assert_date(pv["CreateDate"], recent=True)
    assert version_summary(clients.tea_v3, name) == [
        ("v1", True), ("v2", False), ("v3", False), ("v4", False), ("v5", False)]

    # A sixth version without a rotation strategy: refused, nothing changes.
    with unchanged(clients.tea_v3, lambda: version_summary(clients.tea_v3, name)):
        expect_error(clients.popcore_post.call, "CreatePolicyVersion",
                     {"PolicyName": name, "PolicyDocument": docs.allow("ram:ListUsers")},
                     code="LimitExceeded.Policy.Version", status=409)
        expect_error(clients.tea_v3.call, "CreatePolicyVersion",
                     {"PolicyName": name, "PolicyDocument": docs.allow("ram:ListUsers"),
                      "RotateStrategy": "None"},
                     code="LimitExceeded.Policy.Version", status=409)

    # With the rotation strategy the oldest non-default version (v2) makes room.
    pv = clients.tea_v2.call("CreatePolicyVersion", {
        "PolicyName": name, "PolicyDocument": docs.allow("ram:ListUsers"),
        "SetAsDefault": True,
        "RotateStrategy": "DeleteOldestNonDefaultVersionWhenLimitExceeded"})["PolicyVersion"]
    assert (pv["VersionId"], pv["IsDefaultVersion"]) == ("v6", True)
    assert version_summary(clients.tea_v3, name) == [
        ("v1", False), ("v3", False), ("v4", False), ("v5", False), ("v6", True)]
    expect_error(clients.tea_v3.call, "GetPolicyVersion",
                 {"PolicyName": name, "PolicyType": "Custom", "VersionId": "v2"},
                 code="EntityNotExist.Policy.Version", status=404)

    clients.classic.call("SetDefaultPolicyVersion", {"PolicyName": name, "VersionId": "v3"})
    got = clients.tea_v3.call("GetPolicy", {"PolicyName": name, "PolicyType": "Custom"})
    assert got["Policy"]["DefaultVersion"] == "v3"
    assert got["DefaultPolicyVersion"]["VersionId"] == "v3"
    assert docs.same_json(got["Policy"]["PolicyDocument"], docs.allow("ram:GetUser3"))
    v3 = clients.popcore_post.call("GetPolicyVersion", {
        "PolicyName": name, "PolicyType": "Custom", "VersionId": "v3"})["PolicyVersion"]
    assert v3["IsDefaultVersion"] is True
    assert [v for v, d in version_summary(clients.tea_v3, name) if d] == ["v3"]

    # The default version cannot be deleted; others can.
    with unchanged(clients.tea_v3, lambda: version_summary(clients.tea_v3, name)):
        expect_error(clients.tea_v3.call, "DeletePolicyVersion",
                     {"PolicyName": name, "VersionId": "v3"},
                     code="DeleteConflict.Policy.Version.Default", status=409)
        expect_error(clients.tea_v3.call, "SetDefaultPolicyVersion",
                     {"PolicyName": name, "VersionId": "v99"},
                     code="EntityNotExist.Policy.Version", status=404)
    clients.popcore_get.call("DeletePolicyVersion", {"PolicyName": name, "VersionId": "v1"})
    assert [v for v, _ in version_summary(clients.tea_v3, name)] == ["v3", "v4", "v5", "v6"]

    # A policy that still has non-default versions cannot be deleted (without
    # CascadingDelete): DeleteConflict.Policy.Version.
    with unchanged(clients.tea_v3):
        expect_error(clients.tea_v3.call, "DeletePolicy", {"PolicyName": name},
                     code="DeleteConflict.Policy.Version", status=409)
    for v in ("v4", "v5", "v6"):
        clients.tea_v3.call("DeletePolicyVersion", {"PolicyName": name, "VersionId": v})
    clients.tea_v3.call("DeletePolicy", {"PolicyName": name})


def test_policy_errors_change_nothing(clients, unique):
    name = unique("Guarded")
    doc = docs.allow("ram:GetUser")
    clients.tea_v3.call("CreatePolicy", {"PolicyName": name, "PolicyDocument": doc,
                                         "Description": "original"})
    user = unique("holder")
    clients.tea_v3.call("CreateUser", {"UserName": user})
    clients.tea_v3.call("AttachPolicyToUser", {"PolicyType": "Custom", "PolicyName": name,
                                               "UserName": user})
    bad_docs = [
        "this is not json",
        json.dumps({"Version": "1", "Statement": [{"Effect": "Maybe", "Action": "ram:*",
                                                   "Resource": "*"}]}),
        json.dumps({"Version": "2", "Statement": [{"Effect": "Allow", "Action": "ram:*",
                                                   "Resource": "*"}]}),
        json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Resource": "*"}]}),
    ]
    with unchanged(clients.tea_v3):
        expect_error(clients.tea_v3.call, "CreatePolicy",
                     {"PolicyName": name, "PolicyDocument": doc},
                     code="EntityAlreadyExists.Policy", status=409)
        for i, bad in enumerate(bad_docs):
            caller = [clients.tea_v3, clients.tea_v2, clients.classic, clients.popcore_post][i]
            expect_error(caller.call, "CreatePolicy",
                         {"PolicyName": unique("Bad"), "PolicyDocument": bad},
                         code="MalformedPolicyDocument", status=400)
        expect_error(clients.tea_v3.call, "CreatePolicyVersion",
                     {"PolicyName": name, "PolicyDocument": bad_docs[1]},
                     code="MalformedPolicyDocument", status=400)
        expect_error(clients.tea_v2.call, "CreatePolicy",
                     {"PolicyName": "bad_name_with_underscore", "PolicyDocument": doc},
                     code="InvalidParameter.PolicyName.InvalidChars", status=400)
        expect_error(clients.tea_v2.call, "CreatePolicy",
                     {"PolicyName": "p" * 129, "PolicyDocument": doc},
                     code="InvalidParameter.PolicyName.Length", status=400)
        long_doc = json.dumps({"Version": "1", "Statement": [
            {"Effect": "Allow", "Action": ["ram:GetUser"], "Resource": ["acs:ram:*:*:user/" + "u" * 6200]}]})
        expect_error(clients.classic.call, "CreatePolicy",
                     {"PolicyName": unique("Huge"), "PolicyDocument": long_doc},
                     code="InvalidParameter.PolicyDocument.Length", status=400)
        expect_error(clients.tea_v3.call, "AttachPolicyToUser",
                     {"PolicyType": "Custom", "PolicyName": name, "UserName": user},
                     code="EntityAlreadyExists.User.Policy", status=409)
        expect_error(clients.tea_v3.call, "AttachPolicyToUser",
                     {"PolicyType": "Custom", "PolicyName": unique("Ghost"), "UserName": user},
                     code="EntityNotExist.Policy", status=404)
        expect_error(clients.tea_v3.call, "DeletePolicy", {"PolicyName": name},
                     code="DeleteConflict.Policy.User", status=409)
        expect_error(clients.popcore_post.call, "DeletePolicy",
                     {"PolicyName": "AliyunRAMReadOnlyAccess"},
                     code="EntityNotExist.Policy", status=404)

    entities = clients.classic.call("ListEntitiesForPolicy",
                                    {"PolicyName": name, "PolicyType": "Custom"})
    assert [u["UserName"] for u in shapes.items(entities, "Users", "User")] == [user]
    assert clients.tea_v3.call("GetPolicy", {"PolicyName": name, "PolicyType": "Custom"})[
        "Policy"]["AttachmentCount"] == 1

    clients.tea_v3.call("DetachPolicyFromUser", {"PolicyType": "Custom", "PolicyName": name,
                                                 "UserName": user})
    expect_error(clients.tea_v3.call, "DetachPolicyFromUser",
                 {"PolicyType": "Custom", "PolicyName": name, "UserName": user},
                 code="EntityNotExist.User.Policy", status=404)
    clients.tea_v3.call("DeletePolicy", {"PolicyName": name})
    clients.tea_v3.call("DeleteUser", {"UserName": user})

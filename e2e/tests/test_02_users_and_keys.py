"""RAM users and their AccessKeys; a new user's key is denied until a policy
is attached, and authorization follows attach/detach at once."""

from rampart_e2e import shapes
from rampart_e2e.errors import expect_error
from rampart_e2e.sdk import Credentials
from rampart_e2e.state import unchanged

READ_ONLY = {"PolicyType": "System", "PolicyName": "AliyunRAMReadOnlyAccess"}


def user_names(body):
    return [u["UserName"] for u in shapes.items(body, "Users", "User")]


def test_new_user_is_denied_until_a_policy_is_attached(clients, clients_for, unique, root):
    name = unique("alice")
    created = clients.tea_v3.call(
        "CreateUser", {"UserName": name, "DisplayName": "Alice E2E", "Comments": "made by e2e"}
    )["User"]
    shapes.assert_keys(created, ["UserId", "UserName", "DisplayName", "CreateDate"], "User")
    assert created["UserName"] == name
    assert created["DisplayName"] == "Alice E2E"
    assert created.get("Comments") == "made by e2e"
    shapes.assert_id(created["UserId"])
    shapes.assert_date(created["CreateDate"], recent=True)

    fetched = clients.classic.call("GetUser", {"UserName": name})["User"]
    assert fetched["UserId"] == created["UserId"]
    assert fetched["UserName"] == name
    assert fetched["CreateDate"] == created["CreateDate"]

    key = clients.classic.call("CreateAccessKey", {"UserName": name})["AccessKey"]
    shapes.assert_keys(key, ["AccessKeyId", "AccessKeySecret", "Status", "CreateDate"], "AccessKey")
    assert key["Status"] == "Active"
    shapes.assert_date(key["CreateDate"], recent=True)
    assert key["AccessKeyId"] != root.access_key_id

    listed = shapes.items(
        clients.popcore_get.call("ListAccessKeys", {"UserName": name}), "AccessKeys", "AccessKey")
    assert [k["AccessKeyId"] for k in listed] == [key["AccessKeyId"]]
    assert listed[0]["Status"] == "Active"
    assert "AccessKeySecret" not in listed[0], "ListAccessKeys must never return secrets"

    user = clients_for(Credentials(key["AccessKeyId"], key["AccessKeySecret"]))

    # No policy: every action is refused, nothing changes.
    with unchanged(clients.tea_v3):
        expect_error(user.popcore_post.call, "ListUsers", code="NoPermission", status=403)
        expect_error(user.tea_v3.call, "GetUser", {"UserName": name},
                     code="NoPermission", status=403)
        expect_error(user.tea_v2.call, "CreateUser", {"UserName": unique("mallory")},
                     code="NoPermission", status=403)

    clients.tea_v3.call("AttachPolicyToUser", dict(READ_ONLY, UserName=name))
    attached = shapes.items(
        clients.classic.call("ListPoliciesForUser", {"UserName": name}), "Policies", "Policy")
    assert [(p["PolicyName"], p["PolicyType"]) for p in attached] == [
        ("AliyunRAMReadOnlyAccess", "System")]
    shapes.assert_date(attached[0]["AttachDate"], recent=True)

    # Read-only: reads are allowed...
    assert name in user_names(user.popcore_post.call("ListUsers", {"MaxItems": 1000}))
    assert user.tea_v3.call("GetUser", {"UserName": name})["User"]["UserId"] == created["UserId"]
    # ...writes are not, including granting itself more.
    with unchanged(clients.tea_v3, lambda: clients.tea_v3.call(
            "ListPoliciesForUser", {"UserName": name})["Policies"]):
        expect_error(user.classic.call, "CreateUser", {"UserName": unique("mallory")},
                     code="NoPermission", status=403)
        expect_error(user.tea_v2.call, "AttachPolicyToUser",
                     {"PolicyType": "System", "PolicyName": "AdministratorAccess",
                      "UserName": name},
                     code="NoPermission", status=403)

    # Detaching takes effect on the next request.
    clients.tea_v3.call("DetachPolicyFromUser", dict(READ_ONLY, UserName=name))
    expect_error(user.popcore_get.call, "ListUsers", code="NoPermission", status=403)


def test_access_key_limit_status_and_deletion(clients, clients_for, unique):
    name = unique("keys")
    clients.tea_v2.call("CreateUser", {"UserName": name})
    clients.tea_v2.call("AttachPolicyToUser", dict(READ_ONLY, UserName=name))
    k1 = clients.tea_v2.call("CreateAccessKey", {"UserName": name})["AccessKey"]
    k2 = clients.popcore_post.call("CreateAccessKey", {"UserName": name})["AccessKey"]
    assert k1["AccessKeyId"] != k2["AccessKeyId"]

    def key_ids():
        body = clients.tea_v3.call("ListAccessKeys", {"UserName": name})
        return sorted((k["AccessKeyId"], k["Status"])
                      for k in shapes.items(body, "AccessKeys", "AccessKey"))

    with unchanged(clients.tea_v3, key_ids):
        expect_error(clients.classic.call, "CreateAccessKey", {"UserName": name},
                     code="LimitExceeded.User.AccessKey", status=409)

    user = clients_for(Credentials(k1["AccessKeyId"], k1["AccessKeySecret"]))
    user.tea_v3.call("ListUsers")

    clients.tea_v3.call("UpdateAccessKey", {"UserName": name, "UserAccessKeyId": k1["AccessKeyId"],
                                            "Status": "Inactive"})
    assert (k1["AccessKeyId"], "Inactive") in key_ids()
    expect_error(user.popcore_post.call, "ListUsers",
                 code="InvalidAccessKeyId.Inactive", status=400)

    clients.tea_v3.call("UpdateAccessKey", {"UserName": name, "UserAccessKeyId": k1["AccessKeyId"],
                                            "Status": "Active"})
    user.tea_v3.call("ListUsers")

    # A user with keys, a policy and no group cannot be deleted until those go.
    with unchanged(clients.tea_v3, key_ids):
        expect_error(clients.tea_v3.call, "DeleteUser", {"UserName": name},
                     code={"DeleteConflict.User.AccessKey", "DeleteConflict.User.Policy"},
                     status=409)

    clients.classic.call("DeleteAccessKey", {"UserName": name,
                                             "UserAccessKeyId": k1["AccessKeyId"]})
    expect_error(user.tea_v2.call, "ListUsers", code="InvalidAccessKeyId.NotFound", status=404)
    with unchanged(clients.tea_v3, key_ids):
        expect_error(clients.classic.call, "DeleteAccessKey",
                     {"UserName": name, "UserAccessKeyId": k1["AccessKeyId"]},
                     code="EntityNotExist.User.AccessKey", status=404)
    clients.classic.call("DeleteAccessKey", {"UserName": name,
                                             "UserAccessKeyId": k2["AccessKeyId"]})
    assert key_ids() == []

    expect_error(clients.tea_v3.call, "DeleteUser", {"UserName": name},
                 code="DeleteConflict.User.Policy", status=409)
    clients.tea_v3.call("DetachPolicyFromUser", dict(READ_ONLY, UserName=name))
    clients.tea_v3.call("DeleteUser", {"UserName": name})
    expect_error(clients.popcore_get.call, "GetUser", {"UserName": name},
                 code="EntityNotExist.User", status=404)


def test_update_user_fields_and_rename(clients, unique):
    name = unique("bob")
    created = clients.tea_v3.call("CreateUser", {"UserName": name, "DisplayName": "Bob"})["User"]
    new_name = unique("robert")
    updated = clients.popcore_post.call("UpdateUser", {
        "UserName": name, "NewUserName": new_name, "NewDisplayName": "Robert",
        "NewComments": "renamed", "NewEmail": "robert@example.com"})["User"]
    assert updated["UserId"] == created["UserId"]
    assert updated["UserName"] == new_name
    assert updated["DisplayName"] == "Robert"
    assert updated["Comments"] == "renamed"
    assert updated["Email"] == "robert@example.com"
    assert shapes.assert_date(updated["UpdateDate"]) >= shapes.assert_date(created["CreateDate"])

    got = clients.tea_v2.call("GetUser", {"UserName": new_name})["User"]
    assert (got["UserId"], got["DisplayName"], got["Comments"]) == (
        created["UserId"], "Robert", "renamed")
    expect_error(clients.tea_v2.call, "GetUser", {"UserName": name},
                 code="EntityNotExist.User", status=404)
    clients.tea_v2.call("DeleteUser", {"UserName": new_name})

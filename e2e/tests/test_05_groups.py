"""Groups, membership, and permissions inherited through a group."""

from rampart_e2e import shapes
from rampart_e2e.errors import expect_error
from rampart_e2e.state import unchanged

READ_ONLY = {"PolicyType": "System", "PolicyName": "AliyunRAMReadOnlyAccess"}


def members(caller, group):
    body = caller.call("ListUsersForGroup", {"GroupName": group, "MaxItems": 1000})
    return sorted(u["UserName"] for u in shapes.items(body, "Users", "User"))


def test_group_membership_and_inherited_permissions(clients, clients_for, ram_user, unique):
    group = unique("readers")
    created = clients.popcore_post.call("CreateGroup", {"GroupName": group,
                                                        "Comments": "e2e readers"})["Group"]
    shapes.assert_keys(created, ["GroupName", "Comments", "CreateDate"], "Group")
    assert (created["GroupName"], created["Comments"]) == (group, "e2e readers")
    shapes.assert_date(created["CreateDate"], recent=True)
    if "GroupId" in created:
        shapes.assert_id(created["GroupId"])

    got = clients.tea_v3.call("GetGroup", {"GroupName": group})["Group"]
    assert (got["GroupName"], got["Comments"], got["CreateDate"]) == (
        group, "e2e readers", created["CreateDate"])

    alice, alice_key = ram_user("alice")
    bob, _ = ram_user("bob")
    alice_clients = clients_for(alice_key)
    expect_error(alice_clients.tea_v3.call, "ListGroups", code="NoPermission", status=403)

    clients.tea_v2.call("AddUserToGroup", {"GroupName": group, "UserName": alice})
    clients.tea_v2.call("AddUserToGroup", {"GroupName": group, "UserName": bob})
    assert members(clients.classic, group) == sorted([alice, bob])
    listed = shapes.items(clients.classic.call("ListUsersForGroup", {"GroupName": group}),
                          "Users", "User")
    for u in listed:
        shapes.assert_date(u["JoinDate"], recent=True)

    groups_of_alice = shapes.items(
        clients.tea_v3.call("ListGroupsForUser", {"UserName": alice}), "Groups", "Group")
    assert [g["GroupName"] for g in groups_of_alice] == [group]
    shapes.assert_date(groups_of_alice[0]["JoinDate"], recent=True)

    all_groups = shapes.items(clients.popcore_get.call("ListGroups", {"MaxItems": 1000}),
                              "Groups", "Group")
    assert group in [g["GroupName"] for g in all_groups]

    # A policy attached to the group applies to its members.
    clients.tea_v3.call("AttachPolicyToGroup", dict(READ_ONLY, GroupName=group))
    got_policies = shapes.items(clients.popcore_post.call("ListPoliciesForGroup",
                                                          {"GroupName": group}),
                                "Policies", "Policy")
    assert [p["PolicyName"] for p in got_policies] == ["AliyunRAMReadOnlyAccess"]
    assert group in [g["GroupName"] for g in shapes.items(
        alice_clients.tea_v3.call("ListGroups", {"MaxItems": 1000}), "Groups", "Group")]
    expect_error(alice_clients.classic.call, "CreateGroup", {"GroupName": unique("evil")},
                 code="NoPermission", status=403)

    # Errors change nothing.
    with unchanged(clients.tea_v3, lambda: members(clients.tea_v3, group)):
        expect_error(clients.tea_v3.call, "AddUserToGroup", {"GroupName": group,
                                                             "UserName": alice},
                     code="EntityAlreadyExists.User.Group", status=409)
        expect_error(clients.tea_v3.call, "CreateGroup", {"GroupName": group},
                     code="EntityAlreadyExists.Group", status=409)
        expect_error(clients.tea_v2.call, "CreateGroup", {"GroupName": "bad group"},
                     code="InvalidParameter.GroupName.InvalidChars", status=400)
        expect_error(clients.tea_v2.call, "CreateGroup", {"GroupName": "g" * 65},
                     code="InvalidParameter.GroupName.Length", status=400)
        expect_error(clients.tea_v3.call, "AddUserToGroup", {"GroupName": group,
                                                             "UserName": unique("ghost")},
                     code="EntityNotExist.User", status=404)
        expect_error(clients.tea_v3.call, "AddUserToGroup", {"GroupName": unique("ghost"),
                                                             "UserName": alice},
                     code="EntityNotExist.Group", status=404)
        expect_error(clients.classic.call, "DeleteGroup", {"GroupName": group},
                     code={"DeleteConflict.Group.User", "DeleteConflict.Group.Policy"},
                     status=409)
        expect_error(clients.tea_v3.call, "DeleteUser", {"UserName": bob},
                     code={"DeleteConflict.User.AccessKey", "DeleteConflict.User.Group"},
                     status=409)

    # Leaving the group takes the inherited permission away.
    clients.popcore_post.call("RemoveUserFromGroup", {"GroupName": group, "UserName": alice})
    expect_error(alice_clients.tea_v3.call, "ListGroups", code="NoPermission", status=403)
    expect_error(clients.tea_v3.call, "RemoveUserFromGroup", {"GroupName": group,
                                                              "UserName": alice},
                 code="EntityNotExist.User.Group", status=404)
    assert members(clients.tea_v3, group) == [bob]

    clients.tea_v3.call("RemoveUserFromGroup", {"GroupName": group, "UserName": bob})
    expect_error(clients.tea_v3.call, "DeleteGroup", {"GroupName": group},
                 code="DeleteConflict.Group.Policy", status=409)
    clients.tea_v3.call("DetachPolicyFromGroup", dict(READ_ONLY, GroupName=group))
    clients.tea_v3.call("DeleteGroup", {"GroupName": group})
    expect_error(clients.tea_v3.call, "GetGroup", {"GroupName": group},
                 code="EntityNotExist.Group", status=404)


def test_update_group(clients, unique):
    group = unique("team")
    clients.tea_v3.call("CreateGroup", {"GroupName": group, "Comments": "before"})
    new = unique("squad")
    updated = clients.classic.call("UpdateGroup", {"GroupName": group, "NewGroupName": new,
                                                   "NewComments": "after"})["Group"]
    assert (updated["GroupName"], updated["Comments"]) == (new, "after")
    shapes.assert_date(updated["UpdateDate"], recent=True)
    expect_error(clients.tea_v3.call, "GetGroup", {"GroupName": group},
                 code="EntityNotExist.Group", status=404)
    assert clients.tea_v3.call("GetGroup", {"GroupName": new})["Group"]["Comments"] == "after"
    clients.tea_v3.call("DeleteGroup", {"GroupName": new})

"""MaxItems / Marker / IsTruncated, in a fresh account so the lists are exact.
Pages are fetched with different SDKs: the Marker must be an opaque string
any client can hand back."""

from rampart_e2e import docs, shapes


def page_through(callers, action, plural, singular, max_items, params=None):
    pages = []
    marker = None
    for i in range(50):
        p = dict(params or {}, MaxItems=max_items)
        if marker is not None:
            p["Marker"] = marker
        body = callers[i % len(callers)].call(action, p)
        items = shapes.items(body, plural, singular)
        assert isinstance(body.get("IsTruncated"), bool), body
        pages.append(items)
        if not body["IsTruncated"]:
            assert not body.get("Marker"), "Marker on the last page: %s" % body
            return pages
        marker = body.get("Marker")
        assert isinstance(marker, str) and marker, "IsTruncated without a Marker: %s" % body
        assert len(items) == max_items, "a truncated page must be full: %s" % body
    raise AssertionError("pagination did not end")


def test_users_roles_groups_policies_paginate(new_account, clients_for):
    acct = new_account()
    c = clients_for(acct)
    users = sorted("user-%02d" % i for i in range(5))
    for u in users:
        c.tea_v3.call("CreateUser", {"UserName": u})
    callers = [c.tea_v3, c.classic, c.popcore_get, c.tea_v2, c.popcore_post]

    pages = page_through(callers, "ListUsers", "Users", "User", 2)
    assert [len(p) for p in pages] == [2, 2, 1]
    names = [u["UserName"] for page in pages for u in page]
    assert sorted(names) == users and len(set(names)) == 5, names

    # MaxItems larger than the list: one page, not truncated.
    one = c.tea_v3.call("ListUsers", {"MaxItems": 1000})
    assert one["IsTruncated"] is False
    assert sorted(u["UserName"] for u in shapes.items(one, "Users", "User")) == users
    # Exactly the list's size: not truncated either.
    exact = c.classic.call("ListUsers", {"MaxItems": 5})
    assert exact["IsTruncated"] is False and len(shapes.items(exact, "Users", "User")) == 5

    trust = docs.trust("acs:ram::%s:root" % acct.account_id)
    roles = sorted("role-%02d" % i for i in range(3))
    for r in roles:
        c.tea_v3.call("CreateRole", {"RoleName": r, "AssumeRolePolicyDocument": trust})
    pages = page_through(callers, "ListRoles", "Roles", "Role", 1)
    assert [len(p) for p in pages] == [1, 1, 1]
    assert sorted(r["RoleName"] for p in pages for r in p) == roles

    groups = sorted("group-%02d" % i for i in range(3))
    for g in groups:
        c.tea_v3.call("CreateGroup", {"GroupName": g})
    pages = page_through(callers, "ListGroups", "Groups", "Group", 2)
    assert [len(p) for p in pages] == [2, 1]
    assert sorted(g["GroupName"] for p in pages for g in p) == groups

    for u in users[:3]:
        c.tea_v3.call("AddUserToGroup", {"GroupName": groups[0], "UserName": u})
    pages = page_through(callers, "ListUsersForGroup", "Users", "User", 2,
                         {"GroupName": groups[0]})
    assert [len(p) for p in pages] == [2, 1]
    assert sorted(u["UserName"] for p in pages for u in p) == users[:3]

    policies = sorted("policy-%02d" % i for i in range(3))
    for p in policies:
        c.tea_v3.call("CreatePolicy", {"PolicyName": p, "PolicyDocument": docs.allow("ram:Get*")})
    pages = page_through(callers, "ListPolicies", "Policies", "Policy", 2,
                         {"PolicyType": "Custom"})
    assert [len(p) for p in pages] == [2, 1]
    assert sorted(p["PolicyName"] for page in pages for p in page) == policies

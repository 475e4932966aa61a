"""Every error class — 400, 403, 404, 409 — with its exact code, its HTTP
status, the error body of protocol §5.2 on the wire, and nothing changed."""

import pytest

from rampart_e2e import raw, shapes
from rampart_e2e.errors import expect_error
from rampart_e2e.sdk import Credentials
from rampart_e2e.state import unchanged


def test_user_name_rules(clients, unique):
    with unchanged(clients.tea_v3):
        for caller, bad in [(clients.tea_v3, "has space"), (clients.tea_v2, "semi;colon"),
                            (clients.classic, "slash/name"), (clients.popcore_post, "at@sign"),
                            (clients.popcore_get, "ünïcode")]:
            expect_error(caller.call, "CreateUser", {"UserName": bad},
                         code="InvalidParameter.UserName.InvalidChars", status=400)
        expect_error(clients.tea_v3.call, "CreateUser", {"UserName": "u" * 65},
                     code="InvalidParameter.UserName.Length", status=400)
        expect_error(clients.popcore_post.call, "CreateUser", {"UserName": "u" * 200},
                     code="InvalidParameter.UserName.Length", status=400)
    # The boundary itself is fine: 64 characters of letters, digits, . _ -
    name = (unique("Edge_case.name") + "-" + "x" * 64)[:64]
    assert len(name) == 64
    assert clients.tea_v3.call("CreateUser", {"UserName": name})["User"]["UserName"] == name
    clients.tea_v3.call("DeleteUser", {"UserName": name})


def test_duplicates_are_409_and_keep_the_original(clients, unique):
    name = unique("dup")
    original = clients.tea_v3.call("CreateUser", {"UserName": name,
                                                  "DisplayName": "Original"})["User"]
    with unchanged(clients.tea_v3):
        expect_error(clients.tea_v2.call, "CreateUser",
                     {"UserName": name, "DisplayName": "Impostor"},
                     code="EntityAlreadyExists.User", status=409)
    got = clients.tea_v3.call("GetUser", {"UserName": name})["User"]
    assert (got["UserId"], got["DisplayName"]) == (original["UserId"], "Original")
    clients.tea_v3.call("DeleteUser", {"UserName": name})


@pytest.mark.parametrize("kind, action, params, code", [
    ("tea_v3", "GetUser", {"UserName": "nobody-e2e"}, "EntityNotExist.User"),
    ("classic", "DeleteUser", {"UserName": "nobody-e2e"}, "EntityNotExist.User"),
    ("popcore_get", "GetRole", {"RoleName": "nobody-e2e"}, "EntityNotExist.Role"),
    ("tea_v2", "GetGroup", {"GroupName": "nobody-e2e"}, "EntityNotExist.Group"),
    ("popcore_post", "GetPolicy", {"PolicyName": "nobody-e2e", "PolicyType": "Custom"},
     "EntityNotExist.Policy"),
    ("tea_v3", "ListAccessKeys", {"UserName": "nobody-e2e"}, "EntityNotExist.User"),
    ("classic", "ListGroupsForUser", {"UserName": "nobody-e2e"}, "EntityNotExist.User"),
    ("tea_v3", "ListPolicyVersions", {"PolicyName": "nobody-e2e", "PolicyType": "Custom"},
     "EntityNotExist.Policy"),
])
def test_missing_entities_are_404(clients, kind, action, params, code):
    with unchanged(clients.tea_v3):
        expect_error(getattr(clients, kind).call, action, params, code=code, status=404)


def test_error_bodies_on_the_wire(server, root, clients, ram_user, unique):
    """The raw error JSON: RequestId, HostId, Code, Message, Recommend (strings),
    Content-Type application/json, for each error class."""
    name = unique("wire")
    clients.tea_v3.call("CreateUser", {"UserName": name})
    _, user_key = ram_user("wire-nopolicy")
    with unchanged(clients.tea_v3):
        raw.assert_error_response(
            raw.v1_call(server.port, root, "CreateUser", {"UserName": "bad name"}),
            "InvalidParameter.UserName.InvalidChars", 400)
        raw.assert_error_response(
            raw.v1_call(server.port, user_key, "ListUsers"), "NoPermission", 403)
        raw.assert_error_response(
            raw.v1_call(server.port, root, "GetUser", {"UserName": unique("ghost")},
                        method="GET"),
            "EntityNotExist.User", 404)
        raw.assert_error_response(
            raw.v3_send(server.port, root, "CreateUser", {"UserName": name}),
            "EntityAlreadyExists.User", 409)
    # Successful answers are JSON too, with a RequestId and no Code.
    ok = raw.v1_call(server.port, root, "GetUser", {"UserName": name})
    assert ok.status == 200, ok.body
    assert ok.headers.get("content-type", "").startswith("application/json")
    shapes.assert_success_body("GetUser", ok.json)
    clients.tea_v3.call("DeleteUser", {"UserName": name})


def test_request_ids_are_unique(clients):
    ids = {clients.tea_v3.call("ListUsers", {"MaxItems": 1})["RequestId"] for _ in range(5)}
    assert len(ids) == 5, ids


def test_unknown_access_key_is_404(clients_for):
    stranger = clients_for(Credentials("LTAIdoesnotexist0000", "secret-secret-secret"))
    expect_error(stranger.tea_v2.call, "ListUsers",
                 code="InvalidAccessKeyId.NotFound", status=404)
    expect_error(stranger.tea_v3.call, "ListUsers",
                 code="InvalidAccessKeyId.NotFound", status=404)

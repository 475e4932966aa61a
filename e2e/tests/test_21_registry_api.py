"""The ACR OpenAPI (2018-12-01) subset through the official Tea client
(alibabacloud-cr20181201): instances and endpoints, namespaces,
repositories, tags after a push, the error codes for missing things and bad
parameters, NoPermission for a user without cr:* rights. Every success goes
through the SDK's own model (`TeaCaller.call` round-trips it) and carries
Code "success" and IsSuccess true."""

import pytest

from rampart_e2e import oci_image
from rampart_e2e.errors import expect_error
from rampart_e2e.registry_world import REGION, policy_doc, scope, statement


def ok(body):
    assert body["Code"] == "success" and body["IsSuccess"] is True, body
    assert isinstance(body["RequestId"], str) and body["RequestId"], body
    return body


@pytest.fixture(scope="module")
def inst(registry):
    """An instance of its own for the API tests (first account)."""
    return registry.another_instance("api")


def test_get_and_list_instance(registry, inst):
    cr = inst.cr_root
    got = ok(cr.call("GetInstance", {"InstanceId": inst.iid}))
    assert got["InstanceId"] == inst.iid and got["InstanceName"] == inst.instance["InstanceName"]
    assert got["InstanceStatus"] == "RUNNING", got
    assert isinstance(got["CreateTime"], int) and isinstance(got["ModifiedTime"], int), got
    listed = ok(cr.call("ListInstance", {"PageNo": 1, "PageSize": 100}))
    ids = [i["InstanceId"] for i in listed["Instances"]]
    assert inst.iid in ids and registry.iid in ids, listed
    assert listed["TotalCount"] == len(ids) and listed["PageNo"] == 1, listed
    mine = [i for i in listed["Instances"] if i["InstanceId"] == inst.iid][0]
    assert mine["RegionId"] == REGION and mine["InstanceName"] == inst.instance["InstanceName"]
    by_name = ok(cr.call("ListInstance", {"InstanceName": inst.instance["InstanceName"]}))
    assert [i["InstanceId"] for i in by_name["Instances"]] == [inst.iid], by_name
    page = ok(cr.call("ListInstance", {"PageNo": 1, "PageSize": 1}))
    assert len(page["Instances"]) == 1 and page["TotalCount"] == len(ids), page


def test_instance_endpoints(inst):
    cr = inst.cr_root
    ep = ok(cr.call("GetInstanceEndpoint", {"InstanceId": inst.iid, "EndpointType": "internet",
                                            "ModuleName": "Registry"}))
    assert ep["Enable"] is True and ep["Status"] == "RUNNING" and ep["AclEnable"] is False, ep
    domains = {d["Domain"]: d["Type"] for d in ep["Domains"]}
    assert domains == {inst.default_domain: "SYSTEM"}, ep
    vpc = ok(cr.call("GetInstanceEndpoint", {"InstanceId": inst.iid, "EndpointType": "vpc"}))
    assert [d["Domain"] for d in vpc["Domains"]] == [
        inst.default_domain.replace("-registry.", "-registry-vpc.")], vpc
    listed = ok(cr.call("ListInstanceEndpoint", {"InstanceId": inst.iid}))
    kinds = {e["EndpointType"]: e for e in listed["Endpoints"]}
    assert set(kinds) == {"internet", "vpc"}, listed
    assert [d["Domain"] for d in kinds["internet"]["Domains"]] == [inst.default_domain]
    expect_error(cr.call, "GetInstanceEndpoint", {"InstanceId": inst.iid,
                                                  "EndpointType": "satellite"},
                 code="InvalidParameter.EndpointType", status=400)
    expect_error(cr.call, "GetInstanceEndpoint", {"InstanceId": inst.iid,
                                                  "ModuleName": "Chart"},
                 code="InvalidParameter.ModuleName", status=400)


def test_namespace_lifecycle(inst, unique):
    cr = inst.cr_root
    ns = unique("apins")
    ok(cr.call("CreateNamespace", {"InstanceId": inst.iid, "NamespaceName": ns,
                                   "AutoCreateRepo": False, "DefaultRepoType": "PUBLIC"}))
    got = ok(cr.call("GetNamespace", {"InstanceId": inst.iid, "NamespaceName": ns}))
    assert got["NamespaceName"] == ns and got["AutoCreateRepo"] is False, got
    assert got["DefaultRepoType"] == "PUBLIC" and got["NamespaceStatus"] == "NORMAL", got
    assert got["NamespaceId"].startswith("crn-"), got
    by_id = ok(cr.call("GetNamespace", {"InstanceId": inst.iid, "NamespaceId": got["NamespaceId"]}))
    assert by_id["NamespaceName"] == ns, by_id
    expect_error(cr.call, "CreateNamespace", {"InstanceId": inst.iid, "NamespaceName": ns},
                 code="NAMESPACE_ALREADY_EXIST", status=409)
    ok(cr.call("UpdateNamespace", {"InstanceId": inst.iid, "NamespaceName": ns,
                                   "AutoCreateRepo": True, "DefaultRepoType": "PRIVATE"}))
    got = ok(cr.call("GetNamespace", {"InstanceId": inst.iid, "NamespaceName": ns}))
    assert got["AutoCreateRepo"] is True and got["DefaultRepoType"] == "PRIVATE", got
    listed = ok(cr.call("ListNamespace", {"InstanceId": inst.iid, "PageSize": 100}))
    assert ns in [n["NamespaceName"] for n in listed["Namespaces"]], listed
    assert int(listed["TotalCount"]) >= 1, listed
    filtered = ok(cr.call("ListNamespace", {"InstanceId": inst.iid, "NamespaceName": ns}))
    assert [n["NamespaceName"] for n in filtered["Namespaces"]] == [ns], filtered
    # Not empty: refused; emptied: deleted.
    repo_id = inst.create_repo(ns, "inner")
    expect_error(cr.call, "DeleteNamespace", {"InstanceId": inst.iid, "NamespaceName": ns},
                 code="NAMESPACE_NOT_EMPTY", status=400)
    ok(cr.call("DeleteRepository", {"InstanceId": inst.iid, "RepoId": repo_id}))
    ok(cr.call("DeleteNamespace", {"InstanceId": inst.iid, "NamespaceName": ns}))
    expect_error(cr.call, "GetNamespace", {"InstanceId": inst.iid, "NamespaceName": ns},
                 code="NAMESPACE_NOT_EXIST", status=404)
    expect_error(cr.call, "DeleteNamespace", {"InstanceId": inst.iid, "NamespaceName": ns},
                 code="NAMESPACE_NOT_EXIST", status=404)
    expect_error(cr.call, "UpdateNamespace", {"InstanceId": inst.iid, "NamespaceName": ns,
                                              "AutoCreateRepo": False},
                 code="NAMESPACE_NOT_EXIST", status=404)


def test_repository_lifecycle(inst, unique):
    cr = inst.cr_root
    ns = unique("apirepo")
    ok(cr.call("CreateNamespace", {"InstanceId": inst.iid, "NamespaceName": ns}))
    created = ok(cr.call("CreateRepository", {
        "InstanceId": inst.iid, "RepoNamespaceName": ns, "RepoName": "app",
        "RepoType": "PRIVATE", "Summary": "first", "Detail": "the app", "TagImmutability": True}))
    repo_id = created["RepoId"]
    assert repo_id.startswith("crr-"), created
    got = ok(cr.call("GetRepository", {"InstanceId": inst.iid, "RepoId": repo_id}))
    assert (got["RepoName"], got["RepoNamespaceName"], got["RepoType"]) == ("app", ns, "PRIVATE")
    assert got["Summary"] == "first" and got["Detail"] == "the app", got
    assert got["TagImmutability"] is True and got["RepoStatus"] == "NORMAL", got
    by_name = ok(cr.call("GetRepository", {"InstanceId": inst.iid, "RepoNamespaceName": ns,
                                           "RepoName": "app"}))
    assert by_name["RepoId"] == repo_id, by_name
    expect_error(cr.call, "CreateRepository", {
        "InstanceId": inst.iid, "RepoNamespaceName": ns, "RepoName": "app",
        "RepoType": "PRIVATE", "Summary": "again"}, code="REPO_ALREADY_EXIST", status=409)
    ok(cr.call("UpdateRepository", {"InstanceId": inst.iid, "RepoId": repo_id,
                                    "RepoType": "PUBLIC", "Summary": "second",
                                    "TagImmutability": False}))
    got = ok(cr.call("GetRepository", {"InstanceId": inst.iid, "RepoId": repo_id}))
    assert got["RepoType"] == "PUBLIC" and got["Summary"] == "second", got
    assert got["TagImmutability"] is False and got["Detail"] == "the app", got
    inst.create_repo(ns, "second")
    listed = ok(cr.call("ListRepository", {"InstanceId": inst.iid, "RepoNamespaceName": ns,
                                           "PageSize": 100}))
    assert sorted(r["RepoName"] for r in listed["Repositories"]) == ["app", "second"], listed
    assert int(listed["TotalCount"]) == 2, listed
    one = ok(cr.call("ListRepository", {"InstanceId": inst.iid, "RepoNamespaceName": ns,
                                        "RepoName": "second"}))
    assert [r["RepoName"] for r in one["Repositories"]] == ["second"], one
    paged = ok(cr.call("ListRepository", {"InstanceId": inst.iid, "RepoNamespaceName": ns,
                                          "PageNo": 2, "PageSize": 1}))
    assert len(paged["Repositories"]) == 1 and int(paged["TotalCount"]) == 2, paged
    ok(cr.call("DeleteRepository", {"InstanceId": inst.iid, "RepoId": repo_id}))
    expect_error(cr.call, "GetRepository", {"InstanceId": inst.iid, "RepoId": repo_id},
                 code="REPO_NOT_EXIST", status=404)
    expect_error(cr.call, "DeleteRepository", {"InstanceId": inst.iid, "RepoId": repo_id},
                 code="REPO_NOT_EXIST", status=404)
    expect_error(cr.call, "UpdateRepository", {"InstanceId": inst.iid, "RepoId": repo_id,
                                               "Summary": "x"},
                 code="REPO_NOT_EXIST", status=404)




@pytest.fixture
def pushed(inst, unique):
    """A repository of `inst` with tags v1 (first image), v2 and latest
    (second image), pushed over HTTP as root: (ns, name, repo_id, first,
    second, http, token)."""
    cr = inst.cr_root
    root_pw = "Api-root-pw-2024"
    ok(cr.call("ResetLoginPassword", {"InstanceId": inst.iid, "Password": root_pw}))
    ns = unique("apitags")
    name = "%s/app" % ns
    http = inst.http()
    token = http.token(scope(name, "pull,push"), basic=(inst.id, root_pw))
    first = oci_image.make_image(seed=2121, layers=2, files_per_layer=1, file_size=2048)
    second = oci_image.make_image(seed=2122, layers=1, files_per_layer=1, file_size=2048)
    http.push_image(name, "v1", first, token)
    http.push_image(name, "v2", second, token)
    http.push_image(name, "latest", second, token)
    repo = ok(cr.call("GetRepository", {"InstanceId": inst.iid, "RepoNamespaceName": ns,
                                        "RepoName": "app"}))
    return ns, name, repo["RepoId"], first, second, http, token


def test_list_and_get_repo_tag_after_a_push(inst, pushed, server, request):
    cr = inst.cr_root
    ns, name, repo_id, first, second, http, token = pushed
    listed = ok(cr.call("ListRepoTag", {"InstanceId": inst.iid, "RepoId": repo_id,
                                        "PageSize": 100}))
    tags = {t["Tag"]: t for t in listed["Images"]}
    assert set(tags) == {"v1", "v2", "latest"}, listed
    assert int(listed["TotalCount"]) == 3, listed
    assert tags["v1"]["Digest"] == first.manifest_digest.split(":", 1)[1], tags["v1"]
    assert tags["v2"]["Digest"] == tags["latest"]["Digest"], tags
    assert tags["v1"]["ImageSize"] > 0 and tags["v1"]["Status"] == "NORMAL", tags["v1"]
    got = ok(cr.call("GetRepoTag", {"InstanceId": inst.iid, "RepoId": repo_id, "Tag": "v2"}))
    assert got["Tag"] == "v2" and got["Digest"] == second.manifest_digest.split(":", 1)[1], got
    paged = ok(cr.call("ListRepoTag", {"InstanceId": inst.iid, "RepoId": repo_id,
                                       "PageNo": 2, "PageSize": 2}))
    assert len(paged["Images"]) == 1 and int(paged["TotalCount"]) == 3, paged
    expect_error(cr.call, "GetRepoTag", {"InstanceId": inst.iid, "RepoId": repo_id,
                                         "Tag": "nope"}, code="TAG_NOT_EXIST", status=404)


def test_delete_repo_tag_after_a_push(inst, pushed):
    cr = inst.cr_root
    ns, name, repo_id, first, second, http, token = pushed
    ok(cr.call("DeleteRepoTag", {"InstanceId": inst.iid, "RepoId": repo_id, "Tag": "v2"}))
    expect_error(cr.call, "DeleteRepoTag", {"InstanceId": inst.iid, "RepoId": repo_id,
                                            "Tag": "v2"}, code="TAG_NOT_EXIST", status=404)
    # The registry agrees: v2 is gone, latest (same manifest) is still there.
    http.get_manifest(name, "v2", token).expect(404, "MANIFEST_UNKNOWN")
    http.get_manifest(name, "latest", token).expect(200)
    r = http.request("GET", "/v2/%s/tags/list" % name, token=token).expect(200)
    assert r.json["tags"] == ["latest", "v1"], r.describe()


def test_missing_things(registry, inst, unique):
    cr = inst.cr_root
    missing_iid = "cri-" + "0" * 16
    for action, params in (
            ("GetInstance", {}), ("GetInstanceEndpoint", {}), ("ListInstanceEndpoint", {}),
            ("ListNamespace", {}), ("GetNamespace", {"NamespaceName": "nope"}),
            ("ListRepository", {}), ("GetAuthorizationToken", {}),
            ("CreateNamespace", {"NamespaceName": "ns-x"}),
            ("GetRepository", {"RepoId": "crr-0000000000000000"})):
        expect_error(cr.call, action, dict(InstanceId=missing_iid, **params),
                     code="INSTANCE_NOT_EXIST", status=404)
    expect_error(cr.call, "GetNamespace", {"InstanceId": inst.iid, "NamespaceName": "no-such-ns"},
                 code="NAMESPACE_NOT_EXIST", status=404)
    expect_error(cr.call, "GetRepository", {"InstanceId": inst.iid, "RepoId": "crr-nothing"},
                 code="REPO_NOT_EXIST", status=404)
    expect_error(cr.call, "GetRepository", {"InstanceId": inst.iid,
                                            "RepoNamespaceName": "no-such-ns",
                                            "RepoName": "nope"},
                 code="REPO_NOT_EXIST", status=404)
    expect_error(cr.call, "ListRepoTag", {"InstanceId": inst.iid, "RepoId": "crr-nothing"},
                 code="REPO_NOT_EXIST", status=404)
    # The default instance, seen by another account: does not exist.
    other = registry.cr(registry.server.create_account(unique("api-other")))
    expect_error(other.call, "GetInstance", {"InstanceId": registry.iid},
                 code="INSTANCE_NOT_EXIST", status=404)
    listed = ok(other.call("ListInstance", {}))
    assert listed["Instances"] == [] and listed["TotalCount"] == 0, listed


def test_bad_parameters(inst, unique):
    cr = inst.cr_root
    ns = unique("apibad")
    ok(cr.call("CreateNamespace", {"InstanceId": inst.iid, "NamespaceName": ns}))
    cases = [
        ("GetInstance", {}, "MissingInstanceId"),
        ("CreateNamespace", {"InstanceId": inst.iid}, "MissingNamespaceName"),
        ("CreateRepository", {"InstanceId": inst.iid, "RepoNamespaceName": ns,
                              "RepoType": "PRIVATE"}, "MissingRepoName"),
        ("CreateRepository", {"InstanceId": inst.iid, "RepoNamespaceName": ns,
                              "RepoName": "app"}, "MissingRepoType"),
        ("GetRepoTag", {"InstanceId": inst.iid, "RepoId": "crr-x"}, "MissingTag"),
        ("ResetLoginPassword", {"InstanceId": inst.iid}, "MissingPassword"),
        ("CreateNamespace", {"InstanceId": inst.iid, "NamespaceName": "Upper-Case"},
         "InvalidParameter.NamespaceName"),
        ("CreateNamespace", {"InstanceId": inst.iid, "NamespaceName": "a"},
         "InvalidParameter.NamespaceName"),
        ("CreateNamespace", {"InstanceId": inst.iid, "NamespaceName": "x" * 65},
         "InvalidParameter.NamespaceName"),
        ("CreateNamespace", {"InstanceId": inst.iid, "NamespaceName": "a..b"},
         "InvalidParameter.NamespaceName"),
        ("CreateNamespace", {"InstanceId": inst.iid, "NamespaceName": unique("ok"),
                             "DefaultRepoType": "SECRET"}, "InvalidParameter.DefaultRepoType"),
        ("CreateRepository", {"InstanceId": inst.iid, "RepoNamespaceName": ns,
                              "RepoName": "Bad_Name", "RepoType": "PRIVATE"},
         "InvalidParameter.RepoName"),
        ("CreateRepository", {"InstanceId": inst.iid, "RepoNamespaceName": ns,
                              "RepoName": "app", "RepoType": "HIDDEN"},
         "InvalidParameter.RepoType"),
        ("CreateRepository", {"InstanceId": inst.iid, "RepoNamespaceName": ns,
                              "RepoName": "app", "RepoType": "PRIVATE", "Summary": "s" * 101},
         "InvalidParameter.Summary"),
        ("ListNamespace", {"InstanceId": inst.iid, "PageSize": 101},
         "InvalidParameter.PageSize"),
        ("ListRepository", {"InstanceId": inst.iid, "PageNo": 0}, "InvalidParameter.PageNo"),
        ("GetAuthorizationToken", {"InstanceId": inst.iid, "ExpiresInHours": 25},
         "InvalidParameter.ExpiresInHours"),
        ("ResetLoginPassword", {"InstanceId": inst.iid, "Password": "short"},
         "InvalidParameter.Password"),
        ("ResetLoginPassword", {"InstanceId": inst.iid, "Password": "alllowercaseletters"},
         "InvalidParameter.Password"),
    ]
    for action, params, code in cases:
        expect_error(cr.call, action, params, code=code, status=400)
    # Nothing was created by the refusals.
    listed = ok(cr.call("ListRepository", {"InstanceId": inst.iid, "RepoNamespaceName": ns}))
    assert listed["Repositories"] == [], listed
    names = [n["NamespaceName"] for n in
             ok(cr.call("ListNamespace", {"InstanceId": inst.iid, "PageSize": 100}))["Namespaces"]]
    assert not [n for n in names if n.lower().startswith(("upper", "a..", "xxxx"))], names


def test_no_permission_without_cr_rights(inst, unique):
    user = inst.user("nocr", system=("AliyunRAMReadOnlyAccess",))
    cr = inst.cr(user.creds)
    ns = unique("apiperm")
    ok(inst.cr_root.call("CreateNamespace", {"InstanceId": inst.iid, "NamespaceName": ns}))
    repo_id = inst.create_repo(ns, "app")
    for action, params in (
            ("GetInstance", {}), ("ListInstance", None), ("GetInstanceEndpoint", {}),
            ("ListInstanceEndpoint", {}), ("ListNamespace", {}),
            ("GetNamespace", {"NamespaceName": ns}),
            ("CreateNamespace", {"NamespaceName": unique("nope")}),
            ("UpdateNamespace", {"NamespaceName": ns, "AutoCreateRepo": False}),
            ("DeleteNamespace", {"NamespaceName": ns}),
            ("CreateRepository", {"RepoNamespaceName": ns, "RepoName": "other",
                                  "RepoType": "PRIVATE"}),
            ("GetRepository", {"RepoId": repo_id}), ("ListRepository", {}),
            ("UpdateRepository", {"RepoId": repo_id, "Summary": "x"}),
            ("DeleteRepository", {"RepoId": repo_id}),
            ("ListRepoTag", {"RepoId": repo_id}),
            ("GetAuthorizationToken", {}),
            ("ResetLoginPassword", {"Password": "Some-pass-2024"}),
            ("CreateInstanceEndpointAclPolicy", {"Entry": "10.0.0.0/8"})):
        p = {} if params is None else dict(InstanceId=inst.iid, **params)
        err = expect_error(cr.call, action, p, code="NoPermission", status=403)
        assert "cr:" in err.message, err
    # Nothing changed.
    got = ok(inst.cr_root.call("GetRepository", {"InstanceId": inst.iid, "RepoId": repo_id}))
    assert got["Summary"] == "e2e", got
    ok(inst.cr_root.call("GetNamespace", {"InstanceId": inst.iid, "NamespaceName": ns}))
    ep = ok(inst.cr_root.call("GetInstanceEndpoint", {"InstanceId": inst.iid}))
    assert ep["AclEnable"] is False, ep
    # A narrow grant allows exactly that.
    inst.attach(user.name, inst.policy(policy_doc(
        statement("Allow", "cr:GetRepository", inst.repo_arn(ns, "app")))))
    ok(cr.call("GetRepository", {"InstanceId": inst.iid, "RepoId": repo_id}))
    expect_error(cr.call, "DeleteRepository", {"InstanceId": inst.iid, "RepoId": repo_id},
                 code="NoPermission", status=403)

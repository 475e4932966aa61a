"""Scenario S1 (seeds 000, 002) with a service principal: a deploying
platform, authenticated as the service `sae.aliyuncs.com` with a key the
operator issued, acts for account A and assumes B's role (the
`acrAssumeRoleArn`), gets a registry login with the role's temporary
credentials and pulls B's private image with skopeo. Everything the
scenario says must fail, fails."""

import json

import pytest

from rampart_e2e import docs, oci_image
from rampart_e2e.errors import expect_error
from rampart_e2e.registry_world import policy_doc, scope, statement
from rampart_e2e.sdk import Credentials, TeaCaller
from rampart_e2e.sts_world import assume, session_credentials

SERVICE = "sae.aliyuncs.com"
ACTION = "AssumeRoleWithServiceIdentity"


def service_key(server, service=SERVICE) -> Credentials:
    out = server.run_cli("service", "key", "create", *server.store_args(),
                         "--service", service, "--output", "json")
    data = json.loads(out)
    assert data["AccessKeyId"].startswith("LTSV") and data["Service"] == service, data
    return Credentials(data["AccessKeyId"], data["AccessKeySecret"])


def as_service(server, key: Credentials, role_arn: str, acting_for: str, session="deploy",
               **extra):
    sts = TeaCaller(server.port, key, product="sts")
    params = {"RoleArn": role_arn, "RoleSessionName": session, "AssumeRoleFor": acting_for}
    params.update(extra)
    return sts.call_generic(ACTION, params)


@pytest.fixture(scope="module")
def image():
    return oci_image.make_image(seed=2301, layers=2, files_per_layer=2, file_size=8192)


@pytest.fixture
def world(server, registry, new_account, unique, image, tmp_path):
    """B = the registry's account (the first one) with team/app:1.0; A and C
    are other accounts; B's role sae-pull is trusted by A's root."""
    reg = registry
    ns = unique("team")
    name = "%s/app" % ns
    token = reg.root_token(scope(name, "pull,push"))
    reg.http().push_image(name, "1.0", image, token)
    a_root = new_account(unique("acct-a"))
    c_root = new_account(unique("acct-c"))
    role = unique("sae-pull")
    reg.ram.call("CreateRole", {"RoleName": role,
                                "AssumeRolePolicyDocument": docs.trust("acs:ram::%s:root" % a_root.account_id)})
    policy = reg.policy(policy_doc(statement(
        "Allow", ["cr:GetAuthorizationToken", "cr:ListInstanceEndpoint", "cr:PullRepository",
                  "cr:GetRepository", "cr:ListRepositoryTag"], "*")))
    reg.ram.call("AttachPolicyToRole", {"PolicyType": "Custom", "PolicyName": policy,
                                        "RoleName": role})
    role_arn = "acs:ram::%s:role/%s" % (reg.id, role.lower())
    return dict(reg=reg, name=name, a=a_root, c=c_root, role=role, role_arn=role_arn)


def trust_service(world, principal):
    world["reg"].ram.call("UpdateRole", {
        "RoleName": world["role"],
        "NewAssumeRolePolicyDocument": json.dumps({
            "Version": "1",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                           "Principal": {"Service": [principal]}}]})})


def test_s1_service_acting_for_a_pulls_b_image(server, world, image, registry_clients,
                                               tmp_path, test_clock):
    reg, a, c = world["reg"], world["a"], world["c"]
    key = service_key(server)
    # Before the trust change: A's root may assume; the service may not.
    expect_error(lambda: as_service(server, key, world["role_arn"], a.account_id),
                 code="NoPermission", status=403)
    trust_service(world, "%s@%s" % (a.account_id, SERVICE))

    body = as_service(server, key, world["role_arn"], a.account_id)
    assert body["AssumedRoleUser"]["Arn"] == "%s/deploy" % world["role_arn"], body
    session = session_credentials(body)

    # The role's temporary credentials get a registry login and pull.
    user, password, _ = reg.temp_login(session)
    env = registry_clients
    out = tmp_path / "pulled"
    env.skopeo_pull("%s:1.0" % world["name"], str(out), creds=(user, password)).expect_ok()
    oci_image.assert_same_image(image, oci_image.read_oci_layout(str(out)))

    # Audit: the service and the account it acted for.
    rows = server.audit_rows(a.account_id, wait_for=[body["RequestId"]])
    assert any(r["principal_arn"] == "%s@%s" % (a.account_id, SERVICE)
               and r["action"] == "sts:AssumeRoleWithServiceIdentity" and r["decision"] == "Allow"
               for r in rows), rows[-3:]

    # A push with the role's credentials is denied.
    src = tmp_path / "src"
    oci_image.build_image(str(src), seed=2302, tag="x")
    env.skopeo_push(str(src), "x", "%s:evil" % world["name"], creds=(user, password)).expect_denied()

    # The same service acting for C is refused.
    expect_error(lambda: as_service(server, key, world["role_arn"], c.account_id),
                 code="NoPermission", status=403)
    # A's RAM user (even with sts:AssumeRole) is no longer trusted.
    a_ram = TeaCaller(server.port, a, product="ram")
    a_ram.call("CreateUser", {"UserName": "deployer"})
    a_ram.call("AttachPolicyToUser", {"PolicyType": "System", "PolicyName": "AliyunSTSAssumeRoleAccess",
                                      "UserName": "deployer"})
    k = a_ram.call("CreateAccessKey", {"UserName": "deployer"})["AccessKey"]
    a_user = Credentials(k["AccessKeyId"], k["AccessKeySecret"])
    expect_error(lambda: assume(TeaCaller(server.port, a_user, product="sts"), world["role_arn"], "user1"),
                 code="NoPermission", status=403)
    # A's root is no longer trusted either.
    expect_error(lambda: assume(TeaCaller(server.port, a, product="sts"), world["role_arn"], "root1"),
                 code="NoPermission", status=403)

    # A token whose bytes were altered is refused.
    bad = password[:20] + ("A" if password[20] != "A" else "B") + password[21:]
    env.skopeo_pull("%s:1.0" % world["name"], str(tmp_path / "bad"), creds=(user, bad)).expect_failed(
        r"(?i)unauthori[sz]ed|denied|401")

    # After the session's DurationSeconds, its login no longer works.
    test_clock(3601)
    env.skopeo_pull("%s:1.0" % world["name"], str(tmp_path / "late"), creds=(user, password)).expect_failed(
        r"(?i)unauthori[sz]ed|denied|401|expired")


def test_a_service_key_can_do_nothing_but_assume_roles(server):
    key = service_key(server, "deploy.example.internal")
    ram = TeaCaller(server.port, key, product="ram")
    expect_error(lambda: ram.call("ListUsers", {}), code="NoPermission", status=403)
    # And nobody but a service may call AssumeRoleWithServiceIdentity.


def test_only_services_call_assume_role_with_service_identity(server, root):
    sts = TeaCaller(server.port, root, product="sts")
    expect_error(lambda: sts.call_generic(ACTION, {"RoleArn": "acs:ram::1:role/x",
                                                   "RoleSessionName": "svc",
                                                   "AssumeRoleFor": "1"}), code="NoPermission", status=403)


def test_acting_for_an_unknown_account_is_invalid(server):
    key = service_key(server, "eci.aliyuncs.com")
    expect_error(lambda: as_service(server, key, "acs:ram::1234567890123456:role/x",
                                    "9999999999999999"), code={"InvalidParameter", "InvalidParameter.AssumeRoleFor"}, status=400)


def test_s2_service_linked_role_same_account_pull(server, registry, unique, image,
                                                  registry_clients, tmp_path):
    """S2, same account: ECI acting for the registry's account uses the
    service-linked role AliyunServiceRoleForECI (made on first use, trusted
    by the service alone) and pulls with no secret configured."""
    reg = registry
    name = "%s/app" % unique("eci")
    reg.http().push_image(name, "1.0", image, reg.root_token(scope(name, "pull,push")))
    key = service_key(server, "eci.aliyuncs.com")
    slr_arn = "acs:ram::%s:role/aliyunserviceroleforeci" % reg.id
    body = as_service(server, key, slr_arn, reg.id, session="eci-pull")
    role = reg.ram.call("GetRole", {"RoleName": "AliyunServiceRoleForECI"})["Role"]
    assert role["IsServiceLinkedRole"] is True, role
    # Users cannot change it or assume it.
    expect_error(lambda: reg.ram.call("UpdateRole", {
        "RoleName": "AliyunServiceRoleForECI",
        "NewAssumeRolePolicyDocument": docs.trust("acs:ram::%s:root" % reg.id)}),
        code="NoPermission", status=403)
    expect_error(lambda: reg.ram.call("AttachPolicyToRole", {
        "PolicyType": "System", "PolicyName": "AdministratorAccess",
        "RoleName": "AliyunServiceRoleForECI"}), code="NoPermission", status=403)
    expect_error(lambda: reg.ram.call("DeleteRole", {"RoleName": "AliyunServiceRoleForECI"}),
                 code="NoPermission", status=403)
    expect_error(lambda: assume(TeaCaller(server.port, reg.root, product="sts"), slr_arn, "rootx"),
                 code="NoPermission", status=403)
    # The same service acting for another account cannot use it.
    template = reg.ram.call_generic("GetServiceLinkedRoleTemplate",
                                    {"ServiceName": "eci.aliyuncs.com"})
    assert template["ServiceLinkedRoleTemplate"]["RoleNamePrefix"] == "AliyunServiceRoleForECI"

    session = session_credentials(body)
    user, password, _ = reg.temp_login(session)
    out = tmp_path / "eci"
    registry_clients.skopeo_pull("%s:1.0" % name, str(out), creds=(user, password)).expect_ok()
    oci_image.assert_same_image(image, oci_image.read_oci_layout(str(out)))

    # DeleteServiceLinkedRole removes it; the session stops working.
    deleted = reg.ram.call_generic("DeleteServiceLinkedRole",
                                   {"RoleName": "AliyunServiceRoleForECI"})
    assert deleted["DeletionTaskId"], deleted
    registry_clients.skopeo_pull("%s:1.0" % name, str(tmp_path / "after"),
                                 creds=(user, password)).expect_failed(r"(?i)unauthori[sz]ed|denied")

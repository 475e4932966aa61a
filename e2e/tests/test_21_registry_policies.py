"""Who may pull and push, decided by RAM on every registry request (issue 5,
"Policy cases"): per-repository grants, an explicit Deny on a namespace,
a detached policy stopping the next pull with the same bearer token, public
repositories, the endpoint ACL, role sessions (and their revocation),
expired and tampered temporary logins, and users of another account.

Over plain HTTP to the registry listener: the token realm (GET /token with
Basic credentials, or anonymous) and the OCI API with the bearer token."""

import json
import time
import urllib.parse

import pytest

from rampart_e2e import clients, docs, oci_image
from rampart_e2e.errors import expect_error
from rampart_e2e.registry_world import RegistryHTTP, policy_doc, scope, statement
from rampart_e2e.sts_world import assume, session_credentials


@pytest.fixture(scope="module")
def image():
    return oci_image.make_image(seed=2110, layers=2, files_per_layer=2, file_size=4096)


@pytest.fixture
def seeded(registry, unique, image):
    """seeded(*names) -> pushes `image` as NAME:v1 for each NAME (by root)."""
    http = registry.http()

    def push(*names):
        token = registry.root_token(*[scope(n, "pull,push") for n in names])
        for name in names:
            http.push_image(name, "v1", image, token)

    return push


def pw(tag):
    return "Pw-%s-2024" % tag


def can_login(reg):
    return statement("Allow", ["cr:ResetLoginPassword", "cr:GetAuthorizationToken"],
                     reg.instance_arn())


def test_pull_allowed_on_one_repository_only(registry, unique, seeded, image):
    reg = registry
    ns = unique("pol")
    one, two = "%s/one" % ns, "%s/two" % ns
    seeded(one, two)
    user = reg.user("one-reader", can_login(reg),
                    statement("Allow", "cr:PullRepository", reg.repo_arn(ns, "one")),
                    password=pw("one"))
    http = reg.http()
    # The realm grants what RAM allows now, and no more (OAuth2 form shows it).
    form = urllib.parse.urlencode({
        "grant_type": "password", "username": user.login, "password": user.password,
        "service": "rampart", "client_id": "e2e",
        "scope": "%s %s %s" % (scope(one, "pull,push"), scope(two, "pull"),
                               "registry:catalog:*")})
    r = http.request("POST", "/token", body=form.encode(),
                     headers={"Content-Type": "application/x-www-form-urlencoded"}).expect(200)
    assert r.json["scope"] == scope(one, "pull"), r.json
    token = r.json["access_token"]
    got = http.get_manifest(one, "v1", token).expect(200)
    assert got.body == image.manifest
    assert got.headers["docker-content-digest"] == image.manifest_digest
    http.request("GET", "/v2/%s/blobs/%s" % (one, image.config_digest),
                 token=token).expect(200)
    # The second repository: refused by RAM (403), with or without it in the token.
    http.get_manifest(two, "v1", token).expect(403, "DENIED")
    token2 = http.token(scope(two, "pull"), basic=user.basic)
    http.get_manifest(two, "v1", token2).expect(403, "DENIED")
    http.request("GET", "/v2/%s/blobs/%s" % (two, image.config_digest),
                 token=token2).expect(403, "DENIED")
    # No push, not even into the repository it may pull.
    token3 = http.token(scope(one, "pull,push"), basic=user.basic)
    http.request("POST", "/v2/%s/blobs/uploads/" % one, token=token3).expect(403, "DENIED")
    http.put_blob(one, b"not allowed", token3).expect(403, "DENIED")
    http.put_manifest(one, "v2", image.manifest, token3).expect(403, "DENIED")
    http.request("DELETE", "/v2/%s/manifests/v1" % one, token=token3).expect(403, "DENIED")
    # Tag listing and the catalog are actions of their own.
    http.request("GET", "/v2/%s/tags/list" % one, token=token3).expect(403, "DENIED")
    http.request("GET", "/v2/_catalog", token=token3).expect(403, "DENIED")
    # The manifest is still there, untouched.
    assert http.get_manifest(one, "v1", token).expect(200).body == image.manifest


def test_explicit_deny_on_a_namespace_overrides_allow_all(registry, unique, seeded):
    reg = registry
    ns, other = unique("denied"), unique("allowed")
    seeded("%s/app" % ns, "%s/app" % other)
    http = reg.http()
    denies = {
        "wildcard": "acs:cr:*:*:repository/%s/%s/*" % (reg.iid, ns),
        "namespace-arn": reg.repo_arn(ns),
    }
    for label, resource in denies.items():
        user = reg.user("deny-" + label, can_login(reg),
                        statement("Allow", "cr:*", "*"),
                        statement("Deny", ["cr:PullRepository", "cr:PushRepository"], resource),
                        password=pw(label))
        token = http.token(scope("%s/app" % ns, "pull,push"), scope("%s/app" % other, "pull,push"),
                           basic=user.basic)
        http.get_manifest("%s/app" % other, "v1", token).expect(200)
        http.get_manifest("%s/app" % ns, "v1", token).expect(403, "DENIED")
        http.put_blob("%s/app" % ns, b"x" * 10, token).expect(403, "DENIED")
        http.put_blob("%s/app" % other, b"y" * 10 + label.encode(), token).expect(201)


def test_tag_list_is_decided_by_list_repository_tag_alone(registry, unique, seeded):
    reg = registry
    ns = unique("lister")
    seeded("%s/app" % ns)
    user = reg.user("lister", can_login(reg),
                    statement("Allow", "cr:*", "*"),
                    statement("Deny", "cr:PullRepository", reg.repo_arn(ns)),
                    password=pw("lister"))
    http = reg.http()
    http.get_manifest("%s/app" % ns, "v1",
                      http.token(scope("%s/app" % ns), basic=user.basic)).expect(403, "DENIED")
    # Allowed cr:ListRepositoryTag (by cr:*), whatever scope the client asks for.
    for asked in ("pull", "pull,push", "*"):
        token = http.token(scope("%s/app" % ns, asked), basic=user.basic)
        r = http.request("GET", "/v2/%s/app/tags/list" % ns, token=token).expect(200)
        assert r.json == {"name": "%s/app" % ns, "tags": ["v1"]}, r.describe()


def test_detaching_the_policy_stops_the_next_pull_with_the_same_token(registry, unique,
                                                                      seeded):
    reg = registry
    ns = unique("detach")
    name = "%s/app" % ns
    seeded(name)
    user = reg.user("detach", can_login(reg), password=pw("detach"))
    pull = reg.policy(policy_doc(statement("Allow", "cr:PullRepository", reg.repo_arn(ns, "*"))))
    reg.attach(user.name, pull)
    http = reg.http()
    token = http.token(scope(name), basic=user.basic)
    http.get_manifest(name, "v1", token).expect(200)
    reg.detach(user.name, pull)
    http.get_manifest(name, "v1", token).expect(403, "DENIED")
    # The realm no longer grants it either.
    r = http.request("POST", "/token", body=urllib.parse.urlencode({
        "grant_type": "password", "username": user.login, "password": user.password,
        "scope": scope(name), "service": "rampart"}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"}).expect(200)
    assert r.json["scope"] == "", r.json
    # Attached again: the same token works again (decided at request time).
    reg.attach(user.name, pull)
    http.get_manifest(name, "v1", token).expect(200)
    # A policy version change counts too.
    reg.ram.call("CreatePolicyVersion", {
        "PolicyName": pull, "SetAsDefault": True,
        "PolicyDocument": policy_doc(statement("Allow", "cr:PullRepository",
                                               reg.repo_arn(ns, "elsewhere")))})
    http.get_manifest(name, "v1", token).expect(403, "DENIED")


def test_public_repository_pulls_anonymously_but_is_not_pushed_anonymously(
        registry, unique, seeded, image, tmp_path, registry_clients):
    reg = registry
    ns = unique("pub")
    pub, priv = "%s/open" % ns, "%s/closed" % ns
    reg.cr_root.call("CreateNamespace", {"InstanceId": reg.iid, "NamespaceName": ns,
                                         "AutoCreateRepo": True, "DefaultRepoType": "PRIVATE"})
    repo_id = reg.create_repo(ns, "open", "PUBLIC")
    seeded(pub, priv)
    http = reg.http()
    # No credentials at all.
    assert http.get_manifest(pub, "v1").expect(200).body == image.manifest
    blob = http.request("GET", "/v2/%s/blobs/%s" % (pub, image.layers[0].digest)).expect(200)
    assert blob.body == image.layers[0].data
    # An anonymous token from the realm.
    anon = http.token(scope(pub, "pull,push"))
    assert http.get_manifest(pub, "v1", anon).expect(200).body == image.manifest
    # Never a push, with or without that token.
    for token in (None, anon):
        r = http.request("POST", "/v2/%s/blobs/uploads/" % pub, token=token).expect(401)
        assert r.headers["www-authenticate"].startswith("Bearer realm="), r.describe()
        http.put_manifest(pub, "v2", image.manifest, token).expect(401)
        http.request("DELETE", "/v2/%s/manifests/v1" % pub, token=token).expect(401)
    # The private one is not readable anonymously.
    r = http.get_manifest(priv, "v1").expect(401, "UNAUTHORIZED")
    assert 'scope="repository:%s:pull"' % priv in r.headers["www-authenticate"], r.describe()
    http.get_manifest(priv, "v1", anon).expect(401)
    # A real client, no credentials.
    if clients.available("skopeo"):
        env = registry_clients
        out = str(tmp_path / "pub")
        env.skopeo_pull(pub + ":v1", out, creds=clients.ANONYMOUS, tag="v1").expect_ok()
        oci_image.assert_same_image(image, oci_image.read_oci_layout(out, "v1"))
        layout = str(tmp_path / "layout")
        oci_image.write_layout(layout, image, "v1")
        env.skopeo_push(layout, "v1", pub + ":anon", creds=clients.ANONYMOUS).expect_denied()
    # Made private again: anonymous pulls stop.
    reg.cr_root.call("UpdateRepository", {"InstanceId": reg.iid, "RepoId": repo_id,
                                          "RepoType": "PRIVATE", "Summary": "closed now"})
    http.get_manifest(pub, "v1").expect(401)
    http.get_manifest(pub, "v1", anon).expect(401)
    # And public again by UpdateRepository.
    reg.cr_root.call("UpdateRepository", {"InstanceId": reg.iid, "RepoId": repo_id,
                                          "RepoType": "PUBLIC"})
    http.get_manifest(pub, "v1").expect(200)


def test_endpoint_acl_refuses_sources_outside_its_cidrs(registry, server, unique, image):
    """On an instance of its own (addressed by its host name), so the ACL
    cannot touch the other tests' default instance."""
    inst = registry.another_instance("acl")
    root_pw = "Acl-root-pw-2024"
    inst.cr_root.call("ResetLoginPassword", {"InstanceId": inst.iid, "Password": root_pw})
    http = inst.http()
    basic = (inst.id, root_pw)
    name = "%s/app" % unique("acl")

    def acl(action, entry):
        inst.cr_root.call(action, {"InstanceId": inst.iid, "Entry": entry,
                                   "ModuleName": "Registry", "EndpointType": "internet",
                                   "Comment": "e2e"})

    token = http.token(scope(name, "pull,push"), basic=basic)
    http.push_image(name, "v1", image, token)
    http.request("GET", "/v2/").expect(401)
    acl("CreateInstanceEndpointAclPolicy", "10.0.0.0/8")
    ep = inst.cr_root.call("GetInstanceEndpoint", {"InstanceId": inst.iid,
                                                  "EndpointType": "internet"})
    assert ep["AclEnable"] is True and [e["Entry"] for e in ep["AclEntries"]] == ["10.0.0.0/8"], ep
    # 127.0.0.1 is outside 10.0.0.0/8: everything is 403, the realm too,
    # even with a token issued before.
    http.request("GET", "/v2/").expect(403, "DENIED")
    http.get_manifest(name, "v1", token).expect(403, "DENIED")
    http.token_response(scope(name), basic=basic).expect(403, "DENIED")
    # The default instance (another instance) is not affected.
    registry.http().request("GET", "/v2/").expect(401)
    registry.http().token_response(basic=registry.root_basic).expect(200)
    # Add 127.0.0.1/32: let in again.
    acl("CreateInstanceEndpointAclPolicy", "127.0.0.1/32")
    http.request("GET", "/v2/").expect(401)
    assert http.get_manifest(name, "v1", token).expect(200).body == image.manifest
    fresh = http.token(scope(name), basic=basic)
    http.get_manifest(name, "v1", fresh).expect(200)
    # Removed again: refused again.
    acl("DeleteInstanceEndpointAclPolicy", "127.0.0.1/32")
    http.get_manifest(name, "v1", fresh).expect(403, "DENIED")
    acl("DeleteInstanceEndpointAclPolicy", "10.0.0.0/8")
    expect_error(inst.cr_root.call, "DeleteInstanceEndpointAclPolicy",
                 {"InstanceId": inst.iid, "Entry": "10.0.0.0/8"},
                 code="ACL_ENTRY_NOT_EXIST", status=404)
    # The source address is also a policy condition (acs:SourceIp).
    for cidr, expected in (("10.0.0.0/8", 403), ("127.0.0.1/32", 200)):
        user = registry.user("srcip", can_login(registry), {
            "Effect": "Allow", "Action": ["cr:PullRepository"], "Resource": ["*"],
            "Condition": {"IpAddress": {"acs:SourceIp": [cidr]}}}, password=pw("ip"))
        seeded_name = "%s/app" % unique("srcip")
        root_tok = registry.root_token(scope(seeded_name, "pull,push"))
        registry.http().push_image(seeded_name, "v1", image, root_tok)
        tok = registry.http().token(scope(seeded_name), basic=user.basic)
        registry.http().get_manifest(seeded_name, "v1", tok).expect(expected)


@pytest.fixture
def role_world(registry, unique, sts_clients_for):
    """A role of the first account trusted by the account itself, allowed to
    get temporary logins and pull NS/*; a user allowed to assume it."""
    reg = registry
    ns = unique("role")
    role = unique("puller")
    reg.ram.call("CreateRole", {"RoleName": role,
                                "AssumeRolePolicyDocument": docs.trust("acs:ram::%s:root" % reg.id)})
    policy = reg.policy(policy_doc(
        statement("Allow", "cr:GetAuthorizationToken", reg.instance_arn()),
        statement("Allow", "cr:PullRepository", reg.repo_arn(ns, "*"))))
    reg.ram.call("AttachPolicyToRole", {"PolicyType": "Custom", "PolicyName": policy,
                                        "RoleName": role})
    assumer = reg.user("assumer", system=("AliyunSTSAssumeRoleAccess",))
    sts = sts_clients_for(assumer.creds)
    arn = "acs:ram::%s:role/%s" % (reg.id, role.lower())
    return ns, role, arn, sts


def test_a_role_session_gets_a_temporary_login(registry, role_world):
    """The API side works for sessions: GetAuthorizationToken answers, with
    an expiry no later than the session's own."""
    reg = registry
    ns, role, arn, sts = role_world
    body = assume(sts.tea_v3, arn, "login-only", DurationSeconds=900)
    session = session_credentials(body)
    before = int(time.time())
    user, token, answer = reg.temp_login(session, ExpiresInHours=5)
    assert user == "cr_temp_user" and token and answer["IsSuccess"] is True, answer
    assert answer["ExpireTime"] <= (before + 900 + 5) * 1000, answer


def test_a_role_session_pulls_until_its_sessions_are_revoked(registry, role_world, seeded,
                                                             image):
    reg = registry
    ns, role, arn, sts = role_world
    name = "%s/app" % ns
    seeded(name)
    session = session_credentials(assume(sts.tea_v3, arn, "puller"))
    user, token, body = reg.temp_login(session)
    assert body["Code"] == "success" and body["IsSuccess"] is True, body
    http = reg.http()
    bearer = http.token(scope(name, "pull,push"), basic=(user, token))
    assert http.get_manifest(name, "v1", bearer).expect(200).body == image.manifest
    # The session's rights: pull, no push.
    http.put_blob(name, b"nope", bearer).expect(403, "DENIED")
    # The audit names the session.
    def session_pull(rows):
        return any(r["action"] == "cr:PullRepository" and r["decision"] == "Allow"
                   and ((r["principal_arn"] or "").endswith("assumed-role/%s/puller" % role.lower())
                        or (r["principal_arn"] or "").endswith("role/%s/puller" % role.lower()))
                   for r in rows)
    rows = reg.server.audit_rows(reg.id, until=session_pull)
    assert session_pull(rows), [r for r in rows if r["action"].startswith("cr:")][-5:]
    # Revoked: the temporary login and the bearer token stop working.
    reg.ram.call_generic("RevokeRoleSessions", {"RoleName": role})
    r = http.get_manifest(name, "v1", bearer).expect(401)
    assert 'error="invalid_token"' in r.headers.get("www-authenticate", ""), r.describe()
    http.token_response(scope(name), basic=(user, token)).expect(401, "UNAUTHORIZED")
    # The session cannot get a new login either.
    expect_error(reg.cr(session).call, "GetAuthorizationToken", {"InstanceId": reg.iid},
                 code="InvalidSecurityToken.Expired", status=400)
    # A session issued after the revocation works.
    fresh = session_credentials(assume(sts.tea_v3, arn, "after"))
    user2, token2, _ = reg.temp_login(fresh)
    bearer2 = http.token(scope(name), basic=(user2, token2))
    http.get_manifest(name, "v1", bearer2).expect(200)


def test_a_temporary_login_expires(registry, unique, seeded, test_clock):
    reg = registry
    ns = unique("exp")
    name = "%s/app" % ns
    seeded(name)
    user = reg.user("exp", can_login(reg),
                    statement("Allow", "cr:PullRepository", reg.repo_arn(ns, "*")))
    before = int(time.time())
    temp_user, token, body = reg.temp_login(user.creds, ExpiresInHours=1)
    expires = body["ExpireTime"]
    assert isinstance(expires, int), body
    assert (before + 3600 - 5) * 1000 <= expires <= (int(time.time()) + 3600 + 5) * 1000, body
    http = reg.http()
    bearer = http.token(scope(name), basic=(temp_user, token))
    http.get_manifest(name, "v1", bearer).expect(200)
    # Bearer tokens are short (300 s at most); the login lasts its hour.
    test_clock(3590)
    r = http.get_manifest(name, "v1", bearer).expect(401)
    assert 'error="invalid_token"' in r.headers.get("www-authenticate", ""), r.describe()
    later = http.token(scope(name), basic=(temp_user, token))
    http.get_manifest(name, "v1", later).expect(200)
    test_clock(3601)
    http.token_response(scope(name), basic=(temp_user, token)).expect(401, "UNAUTHORIZED")
    http.get_manifest(name, "v1", later).expect(401)
    test_clock(0)
    # Out-of-range lifetimes are refused.
    for hours in (0, 25):
        expect_error(reg.cr(user.creds).call, "GetAuthorizationToken",
                     {"InstanceId": reg.iid, "ExpiresInHours": hours},
                     code={"InvalidParameter", "InvalidParameter.ExpiresInHours"}, status=400)


def test_a_user_of_another_account_cannot_pull(registry, new_account, unique, seeded, image,
                                               sts_clients_for):
    reg = registry
    ns = unique("xacct")
    name = "%s/app" % ns
    seeded(name)
    c_root = new_account(unique("acct-c"))
    c_inst = reg.another_instance("cinst", root=c_root)
    c_user = c_inst.user("c-user", system=("AliyunContainerRegistryFullAccess",
                                           "AliyunSTSAssumeRoleAccess"),
                         password="C-user-pw-2024")
    # A's instance does not exist for C.
    for creds in (c_user.creds, c_root):
        for action, params in (("GetAuthorizationToken", {}),
                               ("ResetLoginPassword", {"Password": "Whatever-2024"}),
                               ("GetInstance", {})):
            expect_error(c_inst.cr(creds).call, action, dict(InstanceId=reg.iid, **params),
                         code="INSTANCE_NOT_EXIST", status=404)
    # C's own logins do not open A's instance.
    http = reg.http()
    temp_user, temp_token, _ = c_inst.temp_login(c_user.creds)
    http.token_response(scope(name), basic=(temp_user, temp_token)).expect(401, "UNAUTHORIZED")
    http.token_response(scope(name), basic=c_user.basic).expect(401, "UNAUTHORIZED")
    http.token_response(scope(name), basic=("%s@%s" % (c_user.name, reg.id), c_user.password)
                        ).expect(401, "UNAUTHORIZED")
    # A bearer token of C's instance is refused by A's.
    c_http = c_inst.http()
    c_token = c_http.token(scope("%s/mine" % unique("c"), "pull,push"),
                           basic=(temp_user, temp_token))
    r = http.get_manifest(name, "v1", c_token).expect(401)
    assert 'error="invalid_token"' in r.headers.get("www-authenticate", ""), r.describe()


def test_another_account_pulls_by_assuming_a_role_of_the_owner(registry, new_account, unique,
                                                               seeded, image, sts_clients_for):
    reg = registry
    ns = unique("xrole")
    name = "%s/app" % ns
    seeded(name)
    c_root = new_account(unique("acct-d"))
    c_inst = reg.another_instance("dinst", root=c_root)
    c_user = c_inst.user("d-user", system=("AliyunSTSAssumeRoleAccess",))
    http = reg.http()
    # Cross-account access is by assuming a role of A.
    role = unique("lend")
    reg.ram.call("CreateRole", {"RoleName": role,
                                "AssumeRolePolicyDocument": docs.trust("acs:ram::%s:root" % c_inst.id)})
    policy = reg.policy(policy_doc(
        statement("Allow", "cr:GetAuthorizationToken", reg.instance_arn()),
        statement("Allow", "cr:PullRepository", reg.repo_arn(ns, "*"))))
    reg.ram.call("AttachPolicyToRole", {"PolicyType": "Custom", "PolicyName": policy,
                                        "RoleName": role})
    session = session_credentials(assume(sts_clients_for(c_user.creds).tea_v3,
                                         "acs:ram::%s:role/%s" % (reg.id, role.lower()), "c-session"))
    u, t, _ = reg.temp_login(session)
    bearer = http.token(scope(name), basic=(u, t))
    assert http.get_manifest(name, "v1", bearer).expect(200).body == image.manifest


def _flip(text, at=None):
    i = len(text) // 2 if at is None else at
    c = text[i]
    return text[:i] + ("A" if c != "A" else "B") + text[i + 1:]


def test_a_tampered_token_is_refused(registry, unique, seeded):
    reg = registry
    ns = unique("tamper")
    name = "%s/app" % ns
    seeded(name)
    user = reg.user("tamper", can_login(reg),
                    statement("Allow", "cr:PullRepository", reg.repo_arn(ns, "*")))
    temp_user, token, _ = reg.temp_login(user.creds)
    http = reg.http()
    for bad in (_flip(token), _flip(token, 5), _flip(token, len(token) - 3), token[:-4], ""):
        http.token_response(scope(name), basic=(temp_user, bad)).expect(401, "UNAUTHORIZED")
    bearer = http.token(scope(name), basic=(temp_user, token))
    http.get_manifest(name, "v1", bearer).expect(200)
    for bad in (_flip(bearer), _flip(bearer, 5), bearer + "x", "not-a-token"):
        r = http.get_manifest(name, "v1", bad).expect(401, "UNAUTHORIZED")
        assert 'error="invalid_token"' in r.headers.get("www-authenticate", ""), r.describe()
    # Basic credentials straight at the API are not a way in.
    r = http.request("GET", "/v2/%s/manifests/v1" % name, basic=(temp_user, token)).expect(401)
    assert r.headers["www-authenticate"].startswith("Bearer "), r.describe()
    # The realm's anonymous token for a private repository grants nothing.
    anon = http.token(scope(name))
    http.get_manifest(name, "v1", anon).expect(401)
    assert json.loads(http.token_response(scope(name)).body)["token"]


def test_realm_challenge_names_the_realm_and_service(registry):
    http = registry.http()
    params = http.challenge()
    assert params["realm"] == "http://%s/token" % http.host, params
    assert registry.iid in params["service"], params
    r = http.request("GET", "/v2/", token=http.token(basic=registry.root_basic)).expect(200)
    assert r.headers.get("docker-distribution-api-version") == "registry/2.0", r.describe()
    # Another instance's host name gives its own service and realm.
    assert RegistryHTTP(registry.server.registry_port, registry.default_domain).challenge()[
        "service"] == params["service"]

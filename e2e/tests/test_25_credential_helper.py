"""`rampart credential-helper`: registry credentials resolved as ECI's
AcrRegistryInfo and SAE's acrAssumeRoleArn resolve them, driven exactly as
docker (`docker-credential-rampart get`, the server URL on stdin) and the
kubelet (a CredentialProviderRequest on stdin) drive a helper; the
credentials it prints pull with skopeo, and `rampart pull
--credential-config` pulls with the same resolution.

S1 (a service acting for A pulls B's image through B's role; the static
secret variant) and S2 (service-linked role, the narrowed acr-test role,
a custom domain named by InstanceId, two hops), failures (an unreachable
server, refused roles) and the cache (a second `get` calls nobody; past
expiry on the test clock it refreshes)."""

import json
import os
import re
import stat
import subprocess
import time

import pytest

from rampart_e2e import docs, netguard, oci_image
from rampart_e2e.registry_world import REGION, RegistryHTTP, policy_doc, scope, statement
from rampart_e2e.sdk import TeaCaller

KUBELET_API = "credentialprovider.kubelet.k8s.io/v1"


# --------------------------------------------------------------------------
# Driving the helper
# --------------------------------------------------------------------------


class Helper:
    """Runs `rampart credential-helper` with one config file (TOML)."""

    def __init__(self, server, tmp_path, name="helper"):
        self.server = server
        self.dir = tmp_path / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config = self.dir / "config.toml"
        self.cache = self.dir / "cache"
        self.endpoint = "http://127.0.0.1:%d" % server.port

    def write(self, entries, **defaults):
        lines = []
        if defaults:
            lines.append("[defaults]")
            lines += ["%s = %s" % (k, json.dumps(v)) for k, v in defaults.items()]
        for entry in entries:
            lines.append("")
            lines.append("[[registries]]")
            lines += ["%s = %s" % (k, json.dumps(v)) for k, v in entry.items()]
        self.config.write_text("\n".join(lines) + "\n")
        return self

    def env(self, test_clock=False):
        env = netguard.scrub_environment(os.environ.copy())
        env["XDG_CACHE_HOME"] = str(self.dir / "xdg")
        if test_clock:
            env["RAMPART_TEST_CLOCK_OFFSET_FILE"] = self.server.clock_file
        return env

    def run(self, args, stdin, test_clock=False, argv0=None):
        flags = ["--config", str(self.config), "--cache-dir", str(self.cache)]
        if test_clock:
            flags.append("--test-clock")
        cmd = [argv0] + args if argv0 else [self.server.binary, "credential-helper", *flags, *args]
        proc = subprocess.run(cmd, input=stdin.encode(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=self.env(test_clock), timeout=60,
                              cwd=str(self.dir))
        return proc.returncode, proc.stdout.decode(), proc.stderr.decode()

    def docker_get(self, server_url, **kw):
        return self.run(["docker", "get"], server_url + "\n", **kw)

    def docker_creds(self, server_url, **kw):
        code, out, err = self.docker_get(server_url, **kw)
        assert code == 0, "docker get %s exited %s: %s %s" % (server_url, code, out, err)
        data = json.loads(out)
        assert set(data) == {"ServerURL", "Username", "Secret"}, data
        assert data["ServerURL"] == server_url, data
        return data["Username"], data["Secret"]

    def kubelet(self, image, **kw):
        request = json.dumps({"apiVersion": KUBELET_API, "kind": "CredentialProviderRequest",
                              "image": image})
        return self.run(["kubelet"], request, **kw)

    def kubelet_creds(self, image, host, **kw):
        code, out, err = self.kubelet(image, **kw)
        assert code == 0, "kubelet %s exited %s: %s %s" % (image, code, out, err)
        data = json.loads(out)
        assert data["apiVersion"] == KUBELET_API and data["kind"] == "CredentialProviderResponse"
        assert data["cacheKeyType"] == "Registry", data
        assert list(data["auth"]) == [host], data
        auth = data["auth"][host]
        return auth["username"], auth["password"], data.get("cacheDuration")

    def pull(self, image, out_dir):
        """`rampart pull IMAGE --output DIR --credential-config CONFIG`."""
        cmd = [self.server.binary, "pull", image, "--output", str(out_dir),
               "--credential-config", str(self.config)]
        env = self.env()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, env=env, timeout=120, cwd=str(self.dir))
        return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def service_key(server, tmp_path, service):
    out = server.run_cli("service", "key", "create", *server.store_args(),
                         "--service", service, "--output", "json")
    data = json.loads(out)
    path = tmp_path / ("%s.key.json" % service)
    path.write_text(out)
    os.chmod(str(path), 0o600)
    return data, str(path)


def expect_failure(result, pattern, stream="out"):
    code, out, err = result
    text = out if stream == "out" else err
    assert code != 0, "expected a failure, got exit 0: %s %s" % (out, err)
    assert re.search(pattern, text), "expected %r in the %s of the helper:\n%s\n%s" % (
        pattern, stream, out, err)


def role_arn(account, name):
    return "acs:ram::%s:role/%s" % (account, name.lower())


def service_trust(principal):
    return json.dumps({"Version": "1", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": [principal]}}]})


@pytest.fixture(scope="module")
def image():
    return oci_image.make_image(seed=2501, layers=2, files_per_layer=2, file_size=4096)


@pytest.fixture
def b_image(registry, unique, image):
    """B (the registry's account) holds NAME:1.0 on the default instance."""
    name = "%s/app" % unique("ch")
    registry.http().push_image(name, "1.0", image, registry.root_token(scope(name, "pull,push")))
    return name


def skopeo_pulls(registry_clients, tmp_path, name, creds, image, label):
    out = tmp_path / label
    registry_clients.skopeo_pull("%s:1.0" % name, str(out), creds=creds).expect_ok()
    oci_image.assert_same_image(image, oci_image.read_oci_layout(str(out)))


# --------------------------------------------------------------------------
# S1
# --------------------------------------------------------------------------


@pytest.fixture
def s1(server, registry, new_account, unique, tmp_path, b_image):
    """B's role sae-pull trusted by A@sae.aliyuncs.com; the SAE key."""
    reg = registry
    a = new_account(unique("ch-a"))
    c = new_account(unique("ch-c"))
    role = unique("sae-pull")
    reg.ram.call("CreateRole", {"RoleName": role,
                                "AssumeRolePolicyDocument": service_trust(
                                    "%s@sae.aliyuncs.com" % a.account_id)})
    policy = reg.policy(policy_doc(statement(
        "Allow", ["cr:GetAuthorizationToken", "cr:ListInstanceEndpoint", "cr:PullRepository",
                  "cr:GetRepository", "cr:ListRepositoryTag"], "*")))
    reg.ram.call("AttachPolicyToRole", {"PolicyType": "Custom", "PolicyName": policy,
                                        "RoleName": role})
    key, key_file = service_key(server, tmp_path, "sae.aliyuncs.com")
    return dict(a=a, c=c, role_arn=role_arn(reg.id, role), key=key, key_file=key_file,
                name=b_image)


def s1_entry(registry, s1, acting_for):
    return {"registry": registry.host, "mode": "assume-role", "instance_id": registry.iid,
            "region_id": REGION, "service": "sae.aliyuncs.com",
            "service_key_file": s1["key_file"], "acting_for": acting_for,
            "role_arn": s1["role_arn"]}


def test_s1_docker_and_kubelet_pull_b_image_acting_for_a(server, registry, s1, image,
                                                         registry_clients, tmp_path):
    helper = Helper(server, tmp_path).write(
        [s1_entry(registry, s1, s1["a"].account_id)], endpoint=Helper(server, tmp_path).endpoint)
    # docker sends the registry's URL, with or without a scheme.
    user, secret = helper.docker_creds("http://%s" % registry.host)
    assert user == "cr_temp_user"
    skopeo_pulls(registry_clients, tmp_path, s1["name"], (user, secret), image, "docker")
    user2, secret2 = helper.docker_creds(registry.host)
    assert (user2, secret2) == (user, secret), "the second get comes from the cache"

    # The kubelet: a request naming the image, the host's credentials back.
    ku, kp, duration = helper.kubelet_creds("%s/%s:1.0" % (registry.host, s1["name"]),
                                            registry.host)
    assert re.fullmatch(r"\d+s", duration), duration
    assert 1500 <= int(duration[:-1]) <= 1800, duration  # half of what is left of 1 h
    skopeo_pulls(registry_clients, tmp_path, s1["name"], (ku, kp), image, "kubelet")

    # rampart pull with the same resolution.
    code, out, err = helper.pull("%s/%s:1.0" % (registry.host, s1["name"]), tmp_path / "rp")
    assert code == 0, (out, err)
    assert out.strip().splitlines()[-1] == image.manifest_digest, out
    oci_image.assert_same_image(image, oci_image.read_oci_layout(str(tmp_path / "rp"), "1.0"))

    # docker list names the configured registry; store and erase say yes.
    code, out, _ = helper.run(["docker", "list"], "")
    assert code == 0 and json.loads(out) == {registry.host: "cr_temp_user"}, out
    code, _, _ = helper.run(["docker", "store"], json.dumps(
        {"ServerURL": registry.host, "Username": "x", "Secret": "y"}))
    assert code == 0
    code, _, _ = helper.run(["docker", "erase"], registry.host + "\n")
    assert code == 0
    assert not any(helper.cache.glob("*.json")), "erase forgets the cached login"


def test_s1_acting_for_c_is_refused_by_both_protocols(server, registry, s1, tmp_path):
    helper = Helper(server, tmp_path).write([s1_entry(registry, s1, s1["c"].account_id)],
                                            endpoint=Helper(server, tmp_path).endpoint)
    expect_failure(helper.docker_get(registry.host),
                   r"AssumeRoleWithServiceIdentity of %s .*acting for %s was refused: NoPermission"
                   % (re.escape(s1["role_arn"]), s1["c"].account_id))
    expect_failure(helper.kubelet("%s/%s:1.0" % (registry.host, s1["name"])),
                   r"refused: NoPermission", stream="err")
    code, out, err = helper.pull("%s/%s:1.0" % (registry.host, s1["name"]), tmp_path / "no")
    assert code != 0 and "NoPermission" in err, (out, err)


def test_s1_static_secret_pulls(server, registry, b_image, image, registry_clients, tmp_path):
    user = registry.user("ch-static", statement("Allow", [
        "cr:PullRepository", "cr:GetRepository", "cr:ListRepositoryTag",
        "cr:ResetLoginPassword"], "*"), password="Static-pw-25x")
    pw_file = tmp_path / "pw"
    pw_file.write_text(user.password + "\n")
    helper = Helper(server, tmp_path).write([{
        "registry": registry.host, "mode": "static", "username": user.login,
        "password_file": str(pw_file)}])
    got = helper.docker_creds(registry.host)
    assert got == user.basic, got
    skopeo_pulls(registry_clients, tmp_path, b_image, got, image, "static")
    ku, kp, duration = helper.kubelet_creds("%s/%s:1.0" % (registry.host, b_image),
                                            registry.host)
    assert (ku, kp) == user.basic and duration is None


# --------------------------------------------------------------------------
# S2
# --------------------------------------------------------------------------


def test_s2_service_linked_role_same_account(server, registry, b_image, image,
                                             registry_clients, tmp_path):
    key, _ = service_key(server, tmp_path, "eci.aliyuncs.com")
    helper = Helper(server, tmp_path).write([{
        "registry": registry.host, "mode": "service-linked", "instance_id": registry.iid}],
        endpoint=Helper(server, tmp_path).endpoint, service="eci.aliyuncs.com",
        service_key_id=key["AccessKeyId"], service_key_secret=key["AccessKeySecret"],
        acting_for=registry.id)
    creds = helper.docker_creds(registry.host)
    skopeo_pulls(registry_clients, tmp_path, b_image, creds, image, "slr")
    code, out, err = helper.pull("%s/%s:1.0" % (registry.host, b_image), tmp_path / "rp")
    assert code == 0, (out, err)


def test_s2_narrowed_role_and_custom_domain_by_instance_id(server, registry, unique, b_image,
                                                           image, registry_clients, tmp_path):
    """acr-test: cr:Get*, cr:List* on *, cr:Pull* only on cri-x (the default
    instance). cri-y answers only to a custom domain, named by its
    InstanceId in the config."""
    reg = registry
    key, key_file = service_key(server, tmp_path, "eci.aliyuncs.com")
    role = unique("acr-test")
    reg.ram.call("CreateRole", {"RoleName": role,
                                "AssumeRolePolicyDocument": service_trust("eci.aliyuncs.com")})
    policy = reg.policy(policy_doc(
        statement("Allow", ["cr:Get*", "cr:List*"], "*"),
        statement("Allow", ["cr:Pull*"], reg.instance_arn())))
    reg.ram.call("AttachPolicyToRole", {"PolicyType": "Custom", "PolicyName": policy,
                                        "RoleName": role})
    domain = "%s.example.internal" % unique("cri-y")
    cri_y = server.create_registry_instance(reg.id, unique("criy"), REGION, domains=(domain,))
    y_host = "%s:%d" % (domain, server.registry_port)
    y_http = RegistryHTTP(server.registry_port, host=y_host)
    root_login = reg.cr_root.call("GetAuthorizationToken", {"InstanceId": cri_y["InstanceId"]})
    y_root = (root_login["TempUsername"], root_login["AuthorizationToken"])
    y_http.push_image(b_image, "1.0", image, y_http.token(scope(b_image, "pull,push"),
                                                          basic=y_root))

    common = dict(mode="role", arn_service=role_arn(reg.id, role), service="eci.aliyuncs.com",
                  service_key_file=key_file, acting_for=reg.id)
    helper = Helper(server, tmp_path).write([
        dict(registry=reg.host, instance_id=reg.iid, **common),
        dict(registry=domain, instance_id=cri_y["InstanceId"], **common),
    ], endpoint=Helper(server, tmp_path).endpoint)
    # cri-x: pulls.
    creds = helper.docker_creds(reg.host)
    skopeo_pulls(registry_clients, tmp_path, b_image, creds, image, "crix")
    # cri-y: a login for the instance named by InstanceId (cr:Get* allows
    # it), but no pull.
    y_user, y_pass = helper.docker_creds(y_host)
    ku, kp, _ = helper.kubelet_creds("%s/%s:1.0" % (y_host, b_image), y_host)
    assert ku == "cr_temp_user"
    for login in ((y_user, y_pass), (ku, kp)):
        r = y_http.token_response(scope(b_image, "pull"), basic=login)
        if r.status == 200:
            m = y_http.get_manifest(b_image, "1.0", token=r.json["token"])
            assert m.status in (401, 403), m.describe()
        else:
            assert r.status in (401, 403), r.describe()
    # The root's login on cri-y pulls the same manifest there (the image is there).
    ok = y_http.get_manifest(b_image, "1.0", token=y_http.token(scope(b_image, "pull"),
                                                                basic=y_root))
    assert ok.status == 200, ok.describe()


def test_s2_custom_domain_service_linked_pull(server, registry, unique, image, tmp_path):
    """A custom-domain instance: the entry names the domain and the
    InstanceId; the login pulls through that domain."""
    reg = registry
    key, key_file = service_key(server, tmp_path, "eci.aliyuncs.com")
    domain = "%s.example.internal" % unique("custom")
    inst = server.create_registry_instance(reg.id, unique("cust"), REGION, domains=(domain,))
    host = "%s:%d" % (domain, server.registry_port)
    http = RegistryHTTP(server.registry_port, host=host)
    root_login = reg.cr_root.call("GetAuthorizationToken", {"InstanceId": inst["InstanceId"]})
    name = "%s/app" % unique("cd")
    http.push_image(name, "1.0", image, http.token(scope(name, "pull,push"), basic=(
        root_login["TempUsername"], root_login["AuthorizationToken"])))
    helper = Helper(server, tmp_path).write([{
        "registry": domain, "mode": "service-linked", "instance_id": inst["InstanceId"],
        "service": "eci.aliyuncs.com", "service_key_file": key_file, "acting_for": reg.id}],
        endpoint=Helper(server, tmp_path).endpoint)
    # By host (the entry names the domain without a port: any port matches)
    # and by InstanceId.
    creds = helper.docker_creds(host)
    assert helper.docker_creds(inst["InstanceId"]) == creds
    token = http.token(scope(name, "pull"), basic=creds)
    m = http.get_manifest(name, "1.0", token=token)
    assert m.status == 200, m.describe()
    assert m.headers.get("docker-content-digest") == image.manifest_digest


def test_s2_two_hops_pull_b_image_and_refusals(server, registry, new_account, unique, b_image,
                                               image, registry_clients, tmp_path):
    reg = registry
    a = new_account(unique("ch-2hop"))
    a_ram = TeaCaller(server.port, a)
    assume_role = unique("role-assume")
    other = unique("role-other")
    for name in (assume_role, other):
        a_ram.call("CreateRole", {"RoleName": name,
                                  "AssumeRolePolicyDocument": service_trust("eci.aliyuncs.com")})
        a_ram.call("AttachPolicyToRole", {"PolicyType": "System",
                                          "PolicyName": "AliyunSTSAssumeRoleAccess",
                                          "RoleName": name})
    role_acr = unique("role-acr")
    reg.ram.call("CreateRole", {"RoleName": role_acr, "AssumeRolePolicyDocument": docs.trust(
        role_arn(a.account_id, assume_role))})
    reg.ram.call("AttachPolicyToRole", {"PolicyType": "System",
                                        "PolicyName": "AliyunContainerRegistryFullAccess",
                                        "RoleName": role_acr})
    key, key_file = service_key(server, tmp_path, "eci.aliyuncs.com")

    def entry(first):
        return {"registry": reg.host, "mode": "role", "instance_id": reg.iid,
                "service": "eci.aliyuncs.com", "service_key_file": key_file,
                "acting_for": a.account_id, "arn_service": role_arn(a.account_id, first),
                "arn_user": role_arn(reg.id, role_acr), "duration_seconds": 900}

    good = Helper(server, tmp_path, "good").write([entry(assume_role)],
                                                  endpoint=Helper(server, tmp_path).endpoint)
    creds = good.docker_creds(reg.host)
    skopeo_pulls(registry_clients, tmp_path, b_image, creds, image, "twohop")
    ku, kp, duration = good.kubelet_creds("%s/%s:1.0" % (reg.host, b_image), reg.host)
    assert 300 <= int(duration[:-1]) <= 450, duration  # half of what is left of 900 s

    # Another principal of A (a role the service may assume, but not the
    # one role-acr trusts) is refused at the second hop.
    stranger = Helper(server, tmp_path, "stranger").write(
        [entry(other)], endpoint=Helper(server, tmp_path).endpoint)
    expect_failure(stranger.docker_get(reg.host),
                   r"AssumeRole of %s by the session of .*was refused: NoPermission"
                   % re.escape(role_arn(reg.id, role_acr)))

    # Without sts:AssumeRole, role-assume's chain is refused too.
    a_ram.call("DetachPolicyFromRole", {"PolicyType": "System",
                                        "PolicyName": "AliyunSTSAssumeRoleAccess",
                                        "RoleName": assume_role})
    fresh = Helper(server, tmp_path, "detached").write([entry(assume_role)],
                                                       endpoint=Helper(server, tmp_path).endpoint)
    expect_failure(fresh.docker_get(reg.host), r"AssumeRole of .*was refused: NoPermission")
    expect_failure(fresh.kubelet("%s/%s:1.0" % (reg.host, b_image)),
                   r"AssumeRole of .*was refused: NoPermission", stream="err")


# --------------------------------------------------------------------------
# Failures and the cache
# --------------------------------------------------------------------------


def test_unreachable_server_and_unknown_host(server, registry, tmp_path):
    from rampart_e2e.server import free_port

    closed = free_port()
    helper = Helper(server, tmp_path).write([{
        "registry": registry.host, "mode": "service-linked", "instance_id": registry.iid,
        "service": "eci.aliyuncs.com", "service_key_id": "LTSVnothing",
        "service_key_secret": "x", "acting_for": registry.id,
        "endpoint": "http://127.0.0.1:%d" % closed}])
    expect_failure(helper.docker_get(registry.host), r"127\.0\.0\.1:%d.* is unreachable" % closed)
    expect_failure(helper.kubelet("%s/a/b:1" % registry.host), r"is unreachable", stream="err")
    # A host without an entry: docker's own words.
    code, out, _ = helper.docker_get("other.example.internal:5000")
    assert code == 1 and out.strip() == "credentials not found in native keychain", out
    expect_failure(helper.kubelet("other.example.internal/a/b:1"),
                   r"no credential helper entry for registry", stream="err")
    # Installed as docker-credential-rampart (a symlink), config from the env.
    link = helper.dir / "docker-credential-rampart"
    os.symlink(server.binary, str(link))
    env_helper_result = subprocess.run(
        [str(link), "get"], input=b"other.example.internal\n", stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, timeout=60,
        env=dict(helper.env(), RAMPART_CREDENTIAL_HELPER_CONFIG=str(helper.config)))
    assert env_helper_result.returncode == 1
    assert env_helper_result.stdout.decode().strip() == "credentials not found in native keychain"


def test_cache_until_expiry_then_refresh(server, registry, s1, image, registry_clients,
                                         tmp_path, test_clock):
    helper = Helper(server, tmp_path).write(
        [s1_entry(registry, s1, s1["a"].account_id)], endpoint=Helper(server, tmp_path).endpoint)
    a = s1["a"].account_id

    def assumed():
        return [r for r in server.audit_rows(a)
                if r["action"] == "sts:AssumeRoleWithServiceIdentity"
                and r["principal_arn"] == "%s@sae.aliyuncs.com" % a and r["decision"] == "Allow"]

    def wait_for_count(n):
        deadline = time.monotonic() + 10
        while len(assumed()) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return len(assumed())

    first = helper.docker_creds(registry.host, test_clock=True)
    assert wait_for_count(1) == 1
    files = list(helper.cache.glob("*.json"))
    assert len(files) == 1, files
    assert stat.S_IMODE(os.stat(str(files[0])).st_mode) == 0o600
    cached = json.loads(files[0].read_text())
    assert cached["password"] == first[1] and cached["expires_at"] > cached["obtained_at"]

    # Within the lifetime: from the cache, no call to the server.
    assert helper.docker_creds(registry.host, test_clock=True) == first
    ku, kp, _ = helper.kubelet_creds("%s/%s:1.0" % (registry.host, s1["name"]), registry.host,
                                     test_clock=True)
    assert (ku, kp) == first
    time.sleep(0.5)
    assert len(assumed()) == 1

    # Past the refresh point (expiry - 10 %): a new login, which pulls.
    test_clock(3300)
    second = helper.docker_creds(registry.host, test_clock=True)
    assert second != first
    assert wait_for_count(2) == 2
    skopeo_pulls(registry_clients, tmp_path, s1["name"], second, image, "refreshed")

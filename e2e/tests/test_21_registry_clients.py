"""Real registry clients against rampart's registry (issue 5, "Tests that
must exist", first item): skopeo copies a multi-layer image made offline
into rampart and back out byte-identical, with a RAM user's fixed registry
password (set by the user with ResetLoginPassword) and with the temporary
login of GetAuthorizationToken; podman logs in, pushes and pulls; the docker
CLI logs in and inspects a manifest; denied pulls and pushes are reported by
the clients as refusals.

Every client talks to 127.0.0.1:<registry port>, the session's default
instance (created with the domain 127.0.0.1)."""

import json
import os

import pytest

from rampart_e2e import clients, oci_image
from rampart_e2e.clients import ANONYMOUS
from rampart_e2e.registry_world import scope, statement

pytestmark = pytest.mark.registry_clients

USER_PASSWORD = "Pusher-pw-2024"


def _need(*binaries):
    missing = [b for b in binaries if not clients.available(b)]
    if missing:
        pytest.skip("%s not installed: run e2e/setup.sh (apt-get install -y skopeo podman) / "
                    "put the docker CLI on PATH" % ", ".join(missing))


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("layout") / "oci")
    v1 = oci_image.build_image(d, seed=2101, tag="v1")
    v2 = oci_image.build_image(d, seed=2102, tag="v2", layers=2, files_per_layer=3,
                               file_size=256 * 1024)
    return d, v1, v2


@pytest.fixture(scope="module")
def world(registry, unique):
    """A namespace of the default instance, a RAM user allowed to push and
    pull in it (and to set its own password, get temporary logins), and a
    user allowed to pull only one other repository."""
    reg = registry
    ns = unique("cli")
    pusher = reg.user(
        "pusher",
        statement("Allow", ["cr:ResetLoginPassword", "cr:GetAuthorizationToken"],
                  reg.instance_arn()),
        statement("Allow", ["cr:PushRepository", "cr:PullRepository"], reg.repo_arn(ns, "*")),
        password=USER_PASSWORD)
    reader = reg.user(
        "reader",
        statement("Allow", ["cr:ResetLoginPassword"], reg.instance_arn()),
        statement("Allow", ["cr:PullRepository"], reg.repo_arn(ns, "other")),
        password="Reader-pw-2024")
    return reg, ns, pusher, reader


def test_skopeo_round_trip_with_a_fixed_password(world, layout, registry_clients, tmp_path):
    _need("skopeo")
    reg, ns, pusher, _ = world
    d, v1, _ = layout
    env = registry_clients
    env.skopeo_push(d, "v1", "%s/app:v1" % ns, creds=pusher.basic).expect_ok()
    assert env.pushed_digest() == v1.manifest_digest
    out = str(tmp_path / "pulled")
    env.skopeo_pull("%s/app:v1" % ns, out, creds=pusher.basic, tag="v1").expect_ok()
    oci_image.assert_same_image(v1, oci_image.read_oci_layout(out, "v1"))
    # The same bytes straight over HTTP (realm + Bearer), independently of skopeo.
    fetched = oci_image.fetch_image(reg.server.registry_port, "%s/app" % ns, "v1",
                                    username=pusher.login, password=pusher.password)
    oci_image.assert_same_image(v1, fetched)
    # skopeo's view of it, and the tag list.
    raw = env.skopeo_inspect("%s/app:v1" % ns, creds=pusher.basic, raw=True).expect_ok()
    assert raw.stdout.encode() == v1.manifest or raw.stdout.rstrip("\n").encode() == v1.manifest
    # A wrong password is refused at login.
    env.skopeo_login(pusher.login, "not-the-password").expect_denied()
    env.skopeo_login(pusher.login, pusher.password).expect_ok()


def test_skopeo_round_trip_with_a_temporary_login(world, layout, registry_clients, tmp_path):
    _need("skopeo")
    reg, ns, pusher, _ = world
    d, _, v2 = layout
    user, token, body = reg.temp_login(pusher.creds)
    assert user == "cr_temp_user" and body["Code"] == "success" and body["IsSuccess"] is True
    env = registry_clients
    env.skopeo_push(d, "v2", "%s/temp:v2" % ns, creds=(user, token)).expect_ok()
    out = str(tmp_path / "pulled")
    env.skopeo_pull("%s/temp:v2" % ns, out, creds=(user, token), fmt="dir").expect_ok()
    oci_image.assert_same_image(v2, oci_image.read_dir_image(out))
    # Tag listing is cr:ListRepositoryTag, which the pusher's policy lacks;
    # root may list them.
    env.skopeo_list_tags("%s/temp" % ns, creds=(user, token)).expect_denied()
    listed = env.skopeo_list_tags("%s/temp" % ns, creds=reg.root_basic).expect_ok().json()
    assert listed["Tags"] == ["v2"], listed
    # The image pushed with the temporary login is the one the fixed
    # password reads.
    fetched = oci_image.fetch_image(reg.server.registry_port, "%s/temp" % ns, "v2",
                                    username=pusher.login, password=pusher.password)
    oci_image.assert_same_image(v2, fetched)


def test_podman_login_push_pull(world, layout, registry_clients, tmp_path):
    _need("podman")
    reg, ns, pusher, _ = world
    d, v1, _ = layout
    env = registry_clients
    env.podman_login(pusher.login, "wrong-password").expect_denied()
    env.podman_login(pusher.login, pusher.password).expect_ok()
    env.podman_load_oci(d, "v1", "%s/podman:v1" % ns).expect_ok()
    digestfile = str(tmp_path / "digest")
    env.podman_push("%s/podman:v1" % ns, digestfile=digestfile).expect_ok()
    with open(digestfile) as f:
        pushed_digest = f.read().strip()
    # What podman pushed (re-compressed) is in the registry, same content.
    in_registry = oci_image.fetch_image(reg.server.registry_port, "%s/podman" % ns, "v1",
                                        username=pusher.login, password=pusher.password)
    assert in_registry.manifest_digest == pushed_digest
    oci_image.assert_same_content(v1, in_registry)
    env.podman_rmi_all().expect_ok()
    env.podman_pull("%s/podman:v1" % ns).expect_ok()
    out = str(tmp_path / "exported")
    env.podman_export("%s/podman:v1" % ns, out).expect_ok()
    oci_image.assert_same_content(v1, oci_image.read_dir_image(out))
    env.podman_logout().expect_ok()
    # Logged out, the authfile is empty: anonymous pulls of a private
    # repository are refused.
    env.podman_pull("%s/podman:v1" % ns, creds=ANONYMOUS).expect_denied()


def test_docker_cli_login_and_manifest_inspect(world, layout, registry_clients):
    _need("docker", "skopeo")
    reg, ns, pusher, _ = world
    d, v1, _ = layout
    env = registry_clients
    env.skopeo_push(d, "v1", "%s/docker:v1" % ns, creds=pusher.basic).expect_ok()
    env.docker_login(pusher.login, "wrong-password").expect_denied()
    env.docker_login(pusher.login, pusher.password).expect_ok()
    got = env.docker_manifest_inspect("%s/docker:v1" % ns).expect_ok().json()
    assert got == json.loads(v1.manifest), got
    verbose = env.docker_manifest_inspect("%s/docker:v1" % ns, verbose=True).expect_ok().json()
    assert verbose["Descriptor"]["digest"] == v1.manifest_digest, verbose
    env.docker_manifest_inspect("%s/docker:nope" % ns).expect_not_found()
    # With a temporary login too.
    user, token, _ = reg.temp_login(pusher.creds)
    env.docker_logout().expect_ok()
    env.docker_login(user, token).expect_ok()
    assert env.docker_manifest_inspect("%s/docker:v1" % ns).expect_ok().json() == got
    env.docker_logout().expect_ok()
    env.docker_manifest_inspect("%s/docker:v1" % ns).expect_denied()


def test_denied_pull_and_push_are_reported(world, layout, registry_clients, tmp_path):
    _need("skopeo", "podman")
    reg, ns, pusher, reader = world
    d, v1, _ = layout
    env = registry_clients
    env.skopeo_push(d, "v1", "%s/private:v1" % ns, creds=pusher.basic).expect_ok()
    out = str(tmp_path / "x")
    # The reader may pull NS/other only.
    env.skopeo_pull("%s/private:v1" % ns, out, creds=reader.basic).expect_denied()
    env.skopeo_inspect("%s/private:v1" % ns, creds=reader.basic).expect_denied()
    env.skopeo_push(d, "v1", "%s/other:v1" % ns, creds=reader.basic).expect_denied()
    env.skopeo_push(d, "v1", "%s/private:v2" % ns, creds=reader.basic).expect_denied()
    # Anonymous.
    env.skopeo_pull("%s/private:v1" % ns, out, creds=ANONYMOUS).expect_denied()
    env.skopeo_push(d, "v1", "%s/private:v3" % ns, creds=ANONYMOUS).expect_denied()
    # podman, the same refusals.
    env.podman_pull("%s/private:v1" % ns, creds=reader.basic).expect_denied()
    env.podman_load_oci(d, "v1", "%s/other:v1" % ns).expect_ok()
    env.podman_push("%s/other:v1" % ns, creds=reader.basic).expect_denied()
    # Nothing was written by the refused pushes.
    http = reg.http()
    tok = reg.root_token(scope("%s/private" % ns), scope("%s/other" % ns))
    assert http.get_manifest("%s/private" % ns, "v2", tok).status == 404
    assert http.get_manifest("%s/private" % ns, "v3", tok).status == 404
    http.get_manifest("%s/other" % ns, "v1", tok).expect(404)
    # And the allowed pull of the other repository is allowed... once it exists.
    env.skopeo_push(d, "v1", "%s/other:v1" % ns, creds=pusher.basic).expect_ok()
    env.skopeo_pull("%s/other:v1" % ns, str(tmp_path / "ok"), creds=reader.basic,
                    tag="v1").expect_ok()
    oci_image.assert_same_image(v1, oci_image.read_oci_layout(str(tmp_path / "ok"), "v1"))
    assert os.path.isdir(str(tmp_path / "ok"))

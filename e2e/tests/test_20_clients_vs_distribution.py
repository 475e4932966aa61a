"""The real-client tooling (rampart_e2e.oci_image, rampart_e2e.clients)
checked against a real CNCF Distribution registry (Debian's docker-registry
2.8.2): open, and with htpasswd basic auth so every client's credential
paths run. No rampart needed; these say whether skopeo, podman and the
docker CLI work on this machine the way the registry tests drive them.

Skipped, with the reason, when docker-registry or a client is not
installed (e2e/setup.sh installs them with apt-get)."""

import json
import os
import shutil

import pytest

from rampart_e2e import clients, distribution, oci_image
from rampart_e2e.clients import ANONYMOUS, ClientEnv

pytestmark = pytest.mark.registry_clients

ALICE = ("alice", "alice-pw-1")
BOB = ("bob", "bob:pw:with:colons")  # a password with ':' survives USER:PASS splitting


def _need(*binaries):
    missing = [b for b in binaries if not clients.available(b)]
    if missing:
        pytest.skip("%s not installed: run e2e/setup.sh (apt-get install -y skopeo podman "
                    "docker-registry) / put the docker CLI on PATH" % ", ".join(missing))


@pytest.fixture(scope="module")
def _registry_binary():
    if not distribution.binary_path():
        pytest.skip("docker-registry (CNCF Distribution) is not installed: run e2e/setup.sh "
                    "or apt-get install -y docker-registry")


@pytest.fixture(scope="module")
def open_registry(_registry_binary, tmp_path_factory):
    reg = distribution.Distribution(tmp_path_factory.mktemp("distribution-open"))
    reg.start()
    yield reg
    reg.stop()


@pytest.fixture(scope="module")
def auth_registry(_registry_binary, tmp_path_factory):
    reg = distribution.Distribution(tmp_path_factory.mktemp("distribution-auth"),
                                    users=dict([ALICE, BOB]))
    reg.start()
    yield reg
    reg.stop()


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    """One OCI layout with two images: v1 (3 small layers) and v2 (2 layers,
    one over 5 MiB so pushes take more than one chunk for some clients)."""
    d = str(tmp_path_factory.mktemp("layout") / "oci")
    v1 = oci_image.build_image(d, seed=20, tag="v1")
    v2 = oci_image.build_image(d, seed=21, tag="v2", layers=2, files_per_layer=3,
                               file_size=2 * 1024 * 1024)
    return d, v1, v2


def env_for(tmp_path, reg, name="clients"):
    return ClientEnv(tmp_path / name, reg.host)


# --------------------------------------------------------------------------
# The image builder (offline)
# --------------------------------------------------------------------------


def test_image_is_deterministic_and_reads_back(tmp_path):
    a = oci_image.build_image(str(tmp_path / "a"), seed=7, tag="t")
    b = oci_image.build_image(str(tmp_path / "b"), seed=7, tag="t")
    c = oci_image.make_image(seed=8)
    assert a.manifest_digest == b.manifest_digest
    assert a.manifest_digest != c.manifest_digest
    assert len(a.layers) == 3 and len(set(a.layer_digests)) == 3
    back = oci_image.read_oci_layout(str(tmp_path / "a"), "t")
    oci_image.assert_same_image(a, back)
    assert back.diff_ids == [layer.diff_id for layer in a.layers]
    oci_image.assert_same_content(a, back)
    # The layout is what the OCI image-layout spec says.
    with open(tmp_path / "a" / "oci-layout") as f:
        assert json.load(f) == {"imageLayoutVersion": "1.0.0"}
    with open(tmp_path / "a" / "index.json") as f:
        index = json.load(f)
    assert index["manifests"][0]["digest"] == a.manifest_digest
    assert index["manifests"][0]["annotations"] == {oci_image.REF_NAME: "t"}
    assert oci_image.diff_images(a, c), "different seeds must give different images"


def test_layout_holds_several_tags(layout):
    d, v1, v2 = layout
    assert set(oci_image.layout_tags(d)) == {"v1", "v2"}
    oci_image.assert_same_image(v2, oci_image.read_oci_layout(d, "v2"))
    assert max(layer.size for layer in v2.layers) > 5 * 1024 * 1024


def test_client_env_refuses_a_non_loopback_registry(tmp_path):
    with pytest.raises(ValueError):
        ClientEnv(tmp_path / "x", "registry.example.com:5000")


# --------------------------------------------------------------------------
# skopeo
# --------------------------------------------------------------------------


def test_skopeo_round_trip_is_byte_identical(tmp_path, open_registry, layout):
    _need(clients.SKOPEO)
    d, v1, v2 = layout
    env = env_for(tmp_path, open_registry)
    for image in (v1, v2):
        env.skopeo_push(d, image.tag, "team/app:%s" % image.tag).expect_ok()
        assert env.pushed_digest() == image.manifest_digest
        # What the registry holds, read without any client under test.
        stored = oci_image.fetch_image(open_registry.port, "team/app", image.tag)
        oci_image.assert_same_image(image, stored)
        # And back through skopeo, in both local formats.
        out = str(tmp_path / ("pulled-" + image.tag))
        env.skopeo_pull("team/app:%s" % image.tag, out, tag=image.tag).expect_ok()
        oci_image.assert_same_image(image, oci_image.read_oci_layout(out, image.tag))
        out_dir = str(tmp_path / ("dir-" + image.tag))
        env.skopeo_pull("team/app@%s" % image.manifest_digest, out_dir, fmt="dir").expect_ok()
        oci_image.assert_same_image(image, oci_image.read_dir_image(out_dir))
    raw = env.skopeo_inspect("team/app:v1", raw=True).expect_ok()
    assert oci_image.sha256_digest(raw.stdout.encode()) == v1.manifest_digest
    info = env.skopeo_inspect("team/app:v1").expect_ok().json()
    assert info["Digest"] == v1.manifest_digest and info["Layers"] == v1.layer_digests
    assert sorted(env.skopeo_list_tags("team/app").expect_ok().json()["Tags"]) == ["v1", "v2"]
    env.skopeo_inspect("team/app:nope").expect_not_found()


def test_skopeo_delete(tmp_path, open_registry, layout):
    _need(clients.SKOPEO)
    d, v1, _ = layout
    env = env_for(tmp_path, open_registry)
    env.skopeo_push(d, "v1", "team/deleted:v1").expect_ok()
    env.skopeo_delete("team/deleted@%s" % v1.manifest_digest).expect_ok()
    env.skopeo_inspect("team/deleted:v1").expect_not_found()


def test_skopeo_credentials(tmp_path, auth_registry, layout):
    _need(clients.SKOPEO)
    d, v1, _ = layout
    env = env_for(tmp_path, auth_registry)
    ref = "team/private:v1"
    # Anonymous and wrong credentials are refused, for push and pull.
    env.skopeo_push(d, "v1", ref).expect_denied()
    env.skopeo_push(d, "v1", ref, creds=(ALICE[0], "wrong")).expect_denied()
    env.skopeo_push(d, "v1", ref, creds=ALICE).expect_ok()
    assert env.pushed_digest() == v1.manifest_digest
    env.skopeo_inspect(ref).expect_denied()
    env.skopeo_pull(ref, str(tmp_path / "anon")).expect_denied()
    env.skopeo_pull(ref, str(tmp_path / "bob"), creds=BOB).expect_ok()
    oci_image.assert_same_image(v1, oci_image.read_oci_layout(str(tmp_path / "bob"), "latest"))
    oci_image.assert_same_image(v1, oci_image.fetch_image(
        auth_registry.port, "team/private", "v1", username=ALICE[0], password=ALICE[1]))
    # login stores the credentials in the env's authfile; creds=None uses them,
    # ANONYMOUS ignores them.
    env.skopeo_login(ALICE[0], "wrong").expect_denied()
    env.skopeo_login(*ALICE).expect_ok()
    env.skopeo_inspect(ref).expect_ok()
    env.skopeo_inspect(ref, creds=ANONYMOUS).expect_denied()
    with open(env.authfile) as f:
        assert auth_registry.host in json.load(f)["auths"]


# --------------------------------------------------------------------------
# podman (root, vfs storage, isolated root/runroot, insecure registry)
# --------------------------------------------------------------------------


def test_podman_push_and_pull(tmp_path, open_registry, layout):
    _need(clients.PODMAN, clients.SKOPEO)
    d, v1, v2 = layout
    pusher = env_for(tmp_path, open_registry, "pusher")
    pusher.podman_load_oci(d, "v2", "team/pod:v2").expect_ok()
    digestfile = str(tmp_path / "podman-digest")
    pusher.podman_push("team/pod:v2", digestfile=digestfile).expect_ok()
    stored = oci_image.fetch_image(open_registry.port, "team/pod", "v2")
    with open(digestfile) as f:
        assert f.read().strip() == stored.manifest_digest
    # Podman re-compresses layers from its storage: same content, new digests.
    oci_image.assert_same_content(v2, stored)

    # A second podman with empty storage pulls it; what it stored is that content.
    puller = env_for(tmp_path, open_registry, "puller")
    pulled = puller.podman_pull("team/pod:v2").expect_ok()
    image_id = pulled.stdout.strip().splitlines()[-1]
    assert image_id == v2.config_digest.split(":")[1]
    puller.podman_export(image_id, str(tmp_path / "exported")).expect_ok()
    oci_image.assert_same_content(v2, oci_image.read_dir_image(str(tmp_path / "exported")))

    # An image pushed byte-for-byte by skopeo pulls by digest too.
    pusher.skopeo_push(d, "v1", "team/pod:v1").expect_ok()
    puller.podman_pull("team/pod@%s" % v1.manifest_digest).expect_ok()
    puller.podman_pull("team/pod:missing").expect_not_found()


def test_podman_credentials(tmp_path, auth_registry, layout):
    _need(clients.PODMAN)
    d, v1, _ = layout
    env = env_for(tmp_path, auth_registry)
    env.podman_load_oci(d, "v1", "team/podauth:v1").expect_ok()
    env.podman_push("team/podauth:v1").expect_denied()
    env.podman_push("team/podauth:v1", creds=(BOB[0], "wrong")).expect_denied()
    env.podman_push("team/podauth:v1", creds=BOB).expect_ok()

    other = env_for(tmp_path, auth_registry, "other")
    other.podman_pull("team/podauth:v1").expect_denied()
    other.podman_login(ALICE[0], "wrong").expect_denied()
    other.podman_login(*ALICE).expect_ok()
    other.podman_pull("team/podauth:v1").expect_ok()
    other.podman_pull("team/podauth:v1", creds=ANONYMOUS).expect_denied()
    other.podman_logout().expect_ok()
    other.podman_pull("team/podauth:v1").expect_denied()
    other.podman_pull("team/podauth:v1", creds=ALICE).expect_ok()


# --------------------------------------------------------------------------
# docker CLI (no engine: login, manifest inspect/create/push only)
# --------------------------------------------------------------------------


def test_docker_cli_without_engine(tmp_path, open_registry, layout):
    _need(clients.DOCKER, clients.SKOPEO)
    d, v1, _ = layout
    env = env_for(tmp_path, open_registry)
    env.skopeo_push(d, "v1", "team/dock:v1").expect_ok()
    # Login to an open registry "succeeds" (GET /v2/ answers 200).
    env.docker_login("anyone", "anything").expect_ok()
    manifest = env.docker_manifest_inspect("team/dock:v1").expect_ok().json()
    assert manifest == v1.manifest_json
    verbose = env.docker_manifest_inspect("team/dock:v1", verbose=True).expect_ok().json()
    assert verbose["Descriptor"]["digest"] == v1.manifest_digest
    env.docker_manifest_inspect("team/dock:missing").expect_not_found()
    # Without --insecure the CLI only tries https and reports the manifest missing.
    env.docker_manifest_inspect("team/dock:v1", insecure=False).expect_failed()

    # A manifest list made and pushed by the CLI alone, in another repository
    # (it cross-mounts the blobs and puts the image manifest there first).
    pushed = env.docker_manifest_create_push("team/docklist:multi", ["team/dock:v1"]).expect_ok()
    list_digest = pushed.stdout.strip().splitlines()[-1]
    raw = env.skopeo_inspect("team/docklist:multi", raw=True).expect_ok()
    assert oci_image.sha256_digest(raw.stdout.encode()) == list_digest
    assert [m["digest"] for m in json.loads(raw.stdout)["manifests"]] == [v1.manifest_digest]
    mounts = [p for (m, p, s) in open_registry.access_log()
              if m == "POST" and p.startswith("/v2/team/docklist/blobs/uploads/?from=team%2Fdock")]
    assert mounts, "expected cross-repository mount requests"


def test_docker_cli_credentials(tmp_path, auth_registry, layout):
    _need(clients.DOCKER, clients.SKOPEO)
    d, v1, _ = layout
    env = env_for(tmp_path, auth_registry)
    env.skopeo_push(d, "v1", "team/dockauth:v1", creds=ALICE).expect_ok()
    env.docker_manifest_inspect("team/dockauth:v1").expect_denied()
    env.docker_login(ALICE[0], "wrong").expect_denied()
    env.docker_login(*BOB).expect_ok()
    with open(os.path.join(env.docker_config, "config.json")) as f:
        assert auth_registry.host in json.load(f)["auths"]
    manifest = env.docker_manifest_inspect("team/dockauth:v1").expect_ok().json()
    assert manifest == v1.manifest_json
    env.docker_logout().expect_ok()
    env.docker_manifest_inspect("team/dockauth:v1").expect_denied()


def test_clients_kept_to_their_sandbox(tmp_path, open_registry, layout):
    """Nothing lands in the real HOME's auth files, and the blob-info cache
    is the env's own where unshare works."""
    _need(clients.SKOPEO)
    d, _, _ = layout
    home = os.path.expanduser("~")
    watched = [os.path.join(home, ".docker", "config.json"),
               os.path.join(home, ".config", "containers", "auth.json")]
    before = {p: os.path.exists(p) and os.path.getmtime(p) for p in watched}
    env = env_for(tmp_path, open_registry)
    env.skopeo_login("u", "p").expect_ok()
    env.skopeo_push(d, "v1", "team/sandbox:v1").expect_ok()
    if shutil.which(clients.DOCKER):
        env.docker_login("u", "p").expect_ok()
    assert {p: os.path.exists(p) and os.path.getmtime(p) for p in watched} == before
    if env.blob_cache_isolated:
        assert os.listdir(env.path("blob-cache")), "the env's blob-info cache was not used"


# --------------------------------------------------------------------------
# Docker token auth (Bearer): the flow rampart serves, with Distribution as
# the registry and the harness's token server as the realm.
# --------------------------------------------------------------------------

CAROL = ("carol", "carol-pw")  # pull only


@pytest.fixture(scope="module")
def token_registry(_registry_binary, tmp_path_factory):
    from rampart_e2e.token_server import TokenServer

    ts = TokenServer(tmp_path_factory.mktemp("token-server"),
                     users=dict([ALICE, CAROL]),
                     grants={("alice", "*"): "pull,push,delete",
                             ("carol", "team/tok"): "pull",
                             ("", "public/app"): "pull"})
    ts.start()
    reg = distribution.Distribution(tmp_path_factory.mktemp("distribution-token"), token=ts)
    reg.start()
    yield reg
    reg.stop()
    ts.stop()


def test_bearer_flow_skopeo(tmp_path, token_registry, layout):
    _need(clients.SKOPEO)
    d, v1, _ = layout
    ts = token_registry.token
    env = env_for(tmp_path, token_registry)
    env.skopeo_push(d, "v1", "team/tok:v1").expect_denied()  # anonymous: no push
    env.skopeo_push(d, "v1", "team/tok:v1", creds=(ALICE[0], "wrong")).expect_denied()
    denied_push = env.skopeo_push(d, "v1", "team/tok:v1", creds=CAROL).expect_denied()
    assert any(r["user"] == "carol" and r["status"] == 200 for r in ts.requests)
    env.skopeo_push(d, "v1", "team/tok:v1", creds=ALICE).expect_ok()
    env.skopeo_push(d, "v1", "public/app:v1", creds=ALICE).expect_ok()
    env.skopeo_inspect("team/tok:v1", creds=CAROL).expect_ok()
    env.skopeo_inspect("team/tok:v1").expect_denied()
    env.skopeo_inspect("public/app:v1").expect_ok()  # anonymous pull where granted
    oci_image.assert_same_image(v1, oci_image.fetch_image(
        token_registry.port, "team/tok", "v1", username=CAROL[0], password=CAROL[1]))
    env.skopeo_delete("team/tok@%s" % v1.manifest_digest, creds=CAROL).expect_denied()
    # What skopeo asked the realm for on the push.
    assert any("repository:team/tok:pull,push" in r["scopes"] for r in ts.requests), ts.requests
    assert denied_push.stderr


def test_bearer_flow_podman(tmp_path, token_registry, layout):
    _need(clients.PODMAN, clients.SKOPEO)
    d, v1, _ = layout
    env = env_for(tmp_path, token_registry)
    env.skopeo_push(d, "v1", "team/tok:v1", creds=ALICE).expect_ok()
    env.podman_pull("team/tok:v1").expect_denied()
    env.podman_login(CAROL[0], "wrong").expect_denied()
    env.podman_login(*CAROL).expect_ok()
    env.podman_pull("team/tok:v1").expect_ok()
    env.podman_push("team/tok:v1", "team/tok:carol").expect_denied()
    env.podman_push("team/tok:v1", "team/tok:alice", creds=ALICE).expect_ok()


def test_bearer_flow_docker_cli(tmp_path, token_registry, layout):
    _need(clients.DOCKER, clients.SKOPEO)
    d, v1, _ = layout
    env = env_for(tmp_path, token_registry)
    env.skopeo_push(d, "v1", "team/tok:v1", creds=ALICE).expect_ok()
    env.docker_manifest_inspect("team/tok:v1").expect_denied()
    env.docker_login(CAROL[0], "wrong").expect_denied()
    env.docker_login(*CAROL).expect_ok()
    assert env.docker_manifest_inspect("team/tok:v1").expect_ok().json() == v1.manifest_json
    # carol may not push: the CLI's manifest push is refused.
    env.docker_manifest_create_push("team/tok:list", ["team/tok:v1"]).expect_denied()


# --------------------------------------------------------------------------
# A 403 DENIED answer (what a registry may send instead of 401 when the
# caller is known but not allowed): every client must report it as a refusal.
# --------------------------------------------------------------------------


@pytest.fixture
def denying_registry():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        # The docker CLI tries https first and falls back to http only when
        # the answer to its TLS ClientHello starts like an HTTP response
        # ("server gave HTTP response to HTTPS client"); http.server's default
        # HTTP/0.9 error has no status line, which the CLI takes as fatal.
        default_request_version = "HTTP/1.0"

        def log_message(self, *args):
            pass

        def _answer(self):
            if self.path == "/v2/" or self.path == "/v2":
                status, body = 200, b"{}"
            else:
                status, body = 403, json.dumps({"errors": [{
                    "code": "DENIED", "message": "requested access to the resource is denied",
                    "detail": None}]}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    class Stub:
        host = "127.0.0.1:%d" % httpd.server_address[1]

    yield Stub
    httpd.shutdown()
    httpd.server_close()


def test_403_denied_is_reported_as_denied(tmp_path, denying_registry, layout):
    _need(clients.SKOPEO, clients.PODMAN, clients.DOCKER)
    d, _, _ = layout
    env = env_for(tmp_path, denying_registry)
    env.skopeo_push(d, "v1", "team/x:v1", creds=ALICE).expect_denied()
    env.skopeo_inspect("team/x:v1", creds=ALICE).expect_denied()
    env.podman_login(*ALICE).expect_ok()  # GET /v2/ is 200
    env.podman_pull("team/x:v1").expect_denied()
    env.podman_load_oci(d, "v1", "team/x:v1").expect_ok()
    env.podman_push("team/x:v1").expect_denied()
    env.docker_login(*ALICE).expect_ok()
    env.docker_manifest_inspect("team/x:v1").expect_denied()

"""The OCI Distribution API of rampart's registry over plain HTTP with a
bearer token from the realm (issue 5, "Protocol cases"): chunked uploads
(in and out of order, status, cancel), digest verification, manifests
naming missing blobs, Range requests, tag pagination with Link, name
grammar (NAME_INVALID), the catalog, referrers with the artifactType
filter, cross-repository mount, blob and manifest deletion.

All on the session's default instance, as its root (fixed password)."""

import hashlib
import json
import re
import urllib.parse

import pytest

from rampart_e2e import oci_image
from rampart_e2e.registry_world import scope

MT_EMPTY = "application/vnd.oci.empty.v1+json"
EMPTY = b"{}"


def digest_of(data: bytes) -> str:
    return oci_image.sha256_digest(data)


@pytest.fixture
def repo(registry, unique):
    """(http, NAME, token with pull,push,delete on NAME) for a fresh repository name."""
    name = "%s/app" % unique("proto")
    token = registry.root_token(scope(name, "pull,push,delete"))
    return registry.http(), name, token


def location_path(resp) -> str:
    loc = resp.headers.get("location", "")
    assert loc, resp.describe()
    parts = urllib.parse.urlsplit(loc)
    return parts.path + ("?" + parts.query if parts.query else "")


def with_query(path: str, **params) -> str:
    sep = "&" if "?" in path else "?"
    return path + sep + urllib.parse.urlencode(params)


def test_base_and_headers(registry):
    http = registry.http()
    r = http.request("GET", "/v2/").expect(401, "UNAUTHORIZED")
    assert r.headers["docker-distribution-api-version"] == "registry/2.0", r.describe()
    token = registry.root_token()
    r = http.request("GET", "/v2/", token=token).expect(200)
    assert r.json == {} and r.headers["docker-distribution-api-version"] == "registry/2.0"


def test_chunked_upload_in_and_out_of_order(repo):
    http, name, token = repo
    data = hashlib.sha256(b"seed").digest() * 4096  # 128 KiB
    a, b, c = data[:50000], data[50000:100000], data[100000:]
    r = http.request("POST", "/v2/%s/blobs/uploads/" % name, token=token).expect(202)
    assert r.headers.get("docker-upload-uuid"), r.describe()
    assert r.headers.get("range") in ("0-0", None), r.describe()
    session = location_path(r)

    def patch(chunk, start, path=None):
        return http.request("PATCH", path or session, body=chunk, token=token, headers={
            "Content-Type": "application/octet-stream",
            "Content-Range": "%d-%d" % (start, start + len(chunk) - 1)})

    r = patch(a, 0).expect(202)
    assert r.headers["range"] == "0-%d" % (len(a) - 1), r.describe()
    session = location_path(r)
    # Out of order: a gap (starts past the end), and an overlap (starts
    # before it). Both 416 with the current Range; nothing is written.
    for start in (len(a) + 10, 10):
        r = patch(b, start).expect(416, "BLOB_UPLOAD_INVALID")
        assert r.headers.get("range") == "0-%d" % (len(a) - 1), r.describe()
        assert r.headers.get("location"), r.describe()
    status = http.request("GET", session, token=token).expect(204)
    assert status.headers["range"] == "0-%d" % (len(a) - 1), status.describe()
    r = patch(b, len(a)).expect(202)
    assert r.headers["range"] == "0-%d" % (len(a) + len(b) - 1), r.describe()
    session = location_path(r)
    # The last chunk with the closing PUT.
    digest = digest_of(data)
    r = http.request("PUT", with_query(session, digest=digest), body=c, token=token,
                     headers={"Content-Type": "application/octet-stream"}).expect(201)
    assert r.headers["docker-content-digest"] == digest, r.describe()
    got = http.request("GET", "/v2/%s/blobs/%s" % (name, digest), token=token).expect(200)
    assert got.body == data
    head = http.request("HEAD", "/v2/%s/blobs/%s" % (name, digest), token=token).expect(200)
    assert int(head.headers["content-length"]) == len(data) and head.body == b""
    assert head.headers["docker-content-digest"] == digest, head.describe()
    # The session is gone after completion.
    http.request("GET", session, token=token).expect(404, "BLOB_UPLOAD_UNKNOWN")


def test_upload_without_content_range_and_cancel(repo):
    http, name, token = repo
    r = http.request("POST", "/v2/%s/blobs/uploads/" % name, token=token).expect(202)
    session = location_path(r)
    r = http.request("PATCH", session, body=b"stream-1", token=token,
                     headers={"Content-Type": "application/octet-stream"}).expect(202)
    session = location_path(r)
    r = http.request("PATCH", session, body=b"stream-2", token=token,
                     headers={"Content-Type": "application/octet-stream"}).expect(202)
    assert r.headers["range"] == "0-15", r.describe()
    session = location_path(r)
    http.request("DELETE", session, token=token).expect(204)
    http.request("GET", session, token=token).expect(404, "BLOB_UPLOAD_UNKNOWN")
    http.request("PATCH", session, body=b"more", token=token).expect(404, "BLOB_UPLOAD_UNKNOWN")
    # An upload id that never existed.
    bogus = "/v2/%s/blobs/uploads/%s" % (name, "0" * 32)
    assert http.request("GET", bogus, token=token).status in (404, 400)


def test_wrong_digest_is_refused(repo):
    http, name, token = repo
    data = b"the real content"
    wrong = digest_of(b"other content")
    r = http.request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (name, wrong), body=data,
                     token=token, headers={"Content-Type": "application/octet-stream"})
    r.expect(400, "DIGEST_INVALID")
    http.request("HEAD", "/v2/%s/blobs/%s" % (name, wrong), token=token).expect(404)
    http.request("HEAD", "/v2/%s/blobs/%s" % (name, digest_of(data)), token=token).expect(404)
    # Chunked: the closing PUT with a wrong digest is refused, the session
    # stays as it was and can be closed with the right one.
    r = http.request("POST", "/v2/%s/blobs/uploads/" % name, token=token).expect(202)
    r = http.request("PATCH", location_path(r), body=data, token=token, headers={
        "Content-Type": "application/octet-stream",
        "Content-Range": "0-%d" % (len(data) - 1)}).expect(202)
    session = location_path(r)
    http.request("PUT", with_query(session, digest=wrong), token=token).expect(
        400, "DIGEST_INVALID")
    http.request("PUT", with_query(session, digest=digest_of(data)), token=token).expect(201)
    # Malformed digests.
    for bad in ("sha256:xyz", "md5:" + "0" * 32, "sha256:" + "A" * 64):
        r = http.request("POST", "/v2/%s/blobs/uploads/?%s" % (
            name, urllib.parse.urlencode({"digest": bad})), body=b"x", token=token)
        r.expect(400, "DIGEST_INVALID")
    # A PUT without ?digest=.
    r = http.request("POST", "/v2/%s/blobs/uploads/" % name, token=token).expect(202)
    http.request("PUT", location_path(r), body=b"abc", token=token).expect(400, "DIGEST_INVALID")
    # sha512 is accepted and verified.
    d512 = "sha512:" + hashlib.sha512(data).hexdigest()
    http.request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (name, d512), body=data,
                 token=token).expect(201)
    bad512 = "sha512:" + hashlib.sha512(b"nope").hexdigest()
    http.request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (name, bad512), body=data,
                 token=token).expect(400, "DIGEST_INVALID")


def test_manifest_referencing_a_missing_blob(repo):
    http, name, token = repo
    image = oci_image.make_image(seed=2130, layers=2, files_per_layer=1, file_size=1024)
    # Only the config and the first layer are uploaded.
    http.put_blob(name, image.config, token).expect(201)
    http.put_blob(name, image.layers[0].data, token).expect(201)
    r = http.put_manifest(name, "v1", image.manifest, token).expect(400, "MANIFEST_BLOB_UNKNOWN")
    assert image.layers[1].digest in r.body.decode(), r.describe()
    http.get_manifest(name, "v1", token).expect(404)
    # Uploaded, it goes in.
    http.put_blob(name, image.layers[1].data, token).expect(201)
    r = http.put_manifest(name, "v1", image.manifest, token).expect(201)
    assert r.headers["docker-content-digest"] == image.manifest_digest, r.describe()
    # Malformed manifests and mismatched digests.
    http.put_manifest(name, "v2", b"{not json", token).expect(400, "MANIFEST_INVALID")
    http.put_manifest(name, image.layers[0].digest, image.manifest, token).expect(400)


def test_range_requests(repo):
    http, name, token = repo
    data = bytes(range(256)) * 40  # 10240 bytes
    digest = digest_of(data)
    http.put_blob(name, data, token).expect(201)
    path = "/v2/%s/blobs/%s" % (name, digest)
    r = http.request("GET", path, token=token, headers={"Range": "bytes=10-19"}).expect(206)
    assert r.body == data[10:20], r.describe()
    assert r.headers["content-range"] == "bytes 10-19/%d" % len(data), r.describe()
    r = http.request("GET", path, token=token, headers={"Range": "bytes=10000-"}).expect(206)
    assert r.body == data[10000:], r.describe()
    assert r.headers["content-range"] == "bytes 10000-10239/10240", r.describe()
    r = http.request("GET", path, token=token, headers={"Range": "bytes=-16"}).expect(206)
    assert r.body == data[-16:], r.describe()
    r = http.request("GET", path, token=token, headers={"Range": "bytes=20000-"}).expect(416)
    assert r.headers.get("content-range") == "bytes */10240", r.describe()
    r = http.request("GET", path, token=token).expect(200)
    assert r.body == data and r.headers.get("accept-ranges", "bytes") == "bytes"


def test_tags_list_pagination(repo):
    http, name, token = repo
    image = oci_image.make_image(seed=2131, layers=1, files_per_layer=1, file_size=512)
    tags = ["t%d" % i for i in range(1, 6)]
    http.push_image(name, tags[0], image, token)
    for tag in tags[1:]:
        http.put_manifest(name, tag, image.manifest, token).expect(201)
    r = http.request("GET", "/v2/%s/tags/list" % name, token=token).expect(200)
    assert r.json == {"name": name, "tags": tags}, r.describe()
    assert "link" not in r.headers, r.describe()
    seen, path, pages = [], "/v2/%s/tags/list?n=2" % name, 0
    while path:
        r = http.request("GET", path, token=token).expect(200)
        pages += 1
        assert r.json["name"] == name and len(r.json["tags"]) <= 2, r.describe()
        seen += r.json["tags"]
        link = r.headers.get("link")
        if link:
            m = re.fullmatch(r'<([^>]+)>;\s*rel="next"', link)
            assert m, r.describe()
            target = urllib.parse.urlsplit(m.group(1))
            q = urllib.parse.parse_qs(target.query)
            assert q["n"] == ["2"] and q["last"] == [r.json["tags"][-1]], link
            path = target.path + "?" + target.query
        else:
            path = None
        assert pages < 10
    assert seen == tags and pages == 3, seen
    r = http.request("GET", "/v2/%s/tags/list?n=2&last=t3" % name, token=token).expect(200)
    assert r.json["tags"] == ["t4", "t5"], r.describe()
    r = http.request("GET", "/v2/%s/tags/list?last=t5" % name, token=token).expect(200)
    assert r.json["tags"] == [], r.describe()
    r = http.request("GET", "/v2/%s/tags/list?n=0" % name, token=token)
    assert r.status == 200 and r.json["tags"] == [] or r.status == 400, r.describe()
    http.request("GET", "/v2/%s/tags/list?n=abc" % name, token=token).expect(400, "UNSUPPORTED")


def test_invalid_names(registry):
    token = registry.root_token()
    http = registry.http()
    long_repo = "a" * 250
    for bad in ("ns/a..b", "ns/App", "NS/app", "ns/-app", "ns/app-", "ns/a" + "b" * 255,
                "ns%s/%s" % ("x" * 10, long_repo)):
        for method, tail in (("GET", "/manifests/v1"), ("HEAD", "/manifests/v1"),
                             ("GET", "/tags/list"), ("POST", "/blobs/uploads/"),
                             ("GET", "/blobs/" + digest_of(b"x"))):
            r = http.request(method, "/v2/%s%s" % (bad, tail), token=token)
            assert r.status == 400, r.describe()
            if method != "HEAD":
                assert "NAME_INVALID" in r.error_codes, r.describe()
    # Not NAMESPACE/REPOSITORY: one component, or three.
    for bad in ("single", "ns/a/b"):
        r = http.request("GET", "/v2/%s/manifests/v1" % bad, token=registry.root_token(
            scope(bad)))
        r.expect(400, "NAME_INVALID")
    # Anonymous callers get the same answer: names are checked before anyone is asked.
    http.request("GET", "/v2/ns/App/manifests/v1").expect(400, "NAME_INVALID")


def test_catalog(registry, unique):
    http = registry.http()
    ns = unique("catalog")
    names = ["%s/r%d" % (ns, i) for i in range(3)]
    token = registry.root_token(*[scope(n, "pull,push") for n in names])
    image = oci_image.make_image(seed=2132, layers=1, files_per_layer=1, file_size=256)
    for n in names:
        http.push_image(n, "v1", image, token)
    cat = registry.root_token("registry:catalog:*")
    r = http.request("GET", "/v2/_catalog", token=cat).expect(200)
    repos = r.json["repositories"]
    assert set(names) <= set(repos) and repos == sorted(repos), r.describe()
    # Paged: n=1 with a Link to the next page.
    r = http.request("GET", "/v2/_catalog?n=1&last=%s" % names[0], token=cat).expect(200)
    assert r.json["repositories"] == [names[1]], r.describe()
    link = r.headers.get("link", "")
    assert 'rel="next"' in link and "last=" in link, r.describe()
    # Without the catalog scope in the token: 401 insufficient_scope.
    r = http.request("GET", "/v2/_catalog", token=token).expect(401)
    assert "insufficient_scope" in r.headers.get("www-authenticate", ""), r.describe()
    # Another instance's repositories are not in it.
    other = registry.another_instance("catalog")
    assert not [x for x in repos if x.startswith(other.iid)]


def _artifact(subject, artifact_type, payload):
    layer = {"mediaType": "application/octet-stream", "digest": digest_of(payload),
             "size": len(payload)}
    manifest = {
        "schemaVersion": 2, "mediaType": oci_image.MT_OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": MT_EMPTY, "digest": digest_of(EMPTY), "size": len(EMPTY)},
        "layers": [layer],
        "subject": {"mediaType": oci_image.MT_OCI_MANIFEST, "digest": subject.manifest_digest,
                    "size": len(subject.manifest)},
        "annotations": {"org.example.kind": artifact_type},
    }
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()


def test_referrers_with_artifact_type_filter(repo):
    http, name, token = repo
    image = oci_image.make_image(seed=2133, layers=1, files_per_layer=1, file_size=512)
    http.push_image(name, "v1", image, token)
    http.put_blob(name, EMPTY, token).expect(201)
    made = {}
    for kind in ("application/vnd.e2e.signature", "application/vnd.e2e.sbom"):
        payload = ("payload of " + kind).encode()
        http.put_blob(name, payload, token).expect(201)
        manifest = _artifact(image, kind, payload)
        d = digest_of(manifest)
        r = http.put_manifest(name, d, manifest, token).expect(201)
        assert r.headers.get("oci-subject") == image.manifest_digest, r.describe()
        made[kind] = (d, manifest)
    path = "/v2/%s/referrers/%s" % (name, image.manifest_digest)
    r = http.request("GET", path, token=token).expect(200)
    assert r.headers["content-type"].startswith(oci_image.MT_OCI_INDEX), r.describe()
    index = r.json
    assert index["schemaVersion"] == 2 and index["mediaType"] == oci_image.MT_OCI_INDEX, index
    got = {m["digest"]: m for m in index["manifests"]}
    assert set(got) == {d for d, _ in made.values()}, index
    for kind, (d, manifest) in made.items():
        assert got[d]["artifactType"] == kind and got[d]["size"] == len(manifest), got[d]
        assert got[d]["annotations"] == {"org.example.kind": kind}, got[d]
    r = http.request("GET", path + "?artifactType=application/vnd.e2e.sbom", token=token)
    r.expect(200)
    assert [m["digest"] for m in r.json["manifests"]] == [made["application/vnd.e2e.sbom"][0]]
    assert r.headers.get("oci-filters-applied") == "artifactType", r.describe()
    r = http.request("GET", path + "?artifactType=application/none", token=token).expect(200)
    assert r.json["manifests"] == [], r.describe()
    # A subject nobody refers to: an empty index, not 404.
    r = http.request("GET", "/v2/%s/referrers/%s" % (name, digest_of(b"nothing")),
                     token=token).expect(200)
    assert r.json["manifests"] == [], r.describe()
    http.request("GET", "/v2/%s/referrers/sha256:bad" % name, token=token).expect(400)


def test_mount_from_another_repository(registry, unique):
    http = registry.http()
    ns = unique("mount")
    src, dst = "%s/src" % ns, "%s/dst" % ns
    token = registry.root_token(scope(src, "pull,push"), scope(dst, "pull,push"))
    data = b"mounted blob " * 100
    d = digest_of(data)
    http.put_blob(src, data, token).expect(201)
    r = http.request("POST", "/v2/%s/blobs/uploads/?%s" % (dst, urllib.parse.urlencode(
        {"mount": d, "from": src})), token=token).expect(201)
    assert r.headers["docker-content-digest"] == d, r.describe()
    assert http.request("GET", "/v2/%s/blobs/%s" % (dst, d), token=token).expect(200).body == data
    # Mounting what the source lacks falls back to an upload session.
    r = http.request("POST", "/v2/%s/blobs/uploads/?%s" % (dst, urllib.parse.urlencode(
        {"mount": digest_of(b"absent"), "from": src})), token=token).expect(202)
    assert r.headers.get("location"), r.describe()


def test_blob_and_manifest_delete(registry, repo):
    http, name, token = repo
    image = oci_image.make_image(seed=2134, layers=2, files_per_layer=1, file_size=512)
    http.push_image(name, "v1", image, token)
    http.put_manifest(name, "v2", image.manifest, token).expect(201)
    # HEAD and content negotiation.
    head = http.request("HEAD", "/v2/%s/manifests/v1" % name, token=token,
                        headers={"Accept": oci_image.MT_OCI_MANIFEST}).expect(200)
    assert head.headers["docker-content-digest"] == image.manifest_digest, head.describe()
    assert int(head.headers["content-length"]) == len(image.manifest) and head.body == b""
    http.request("GET", "/v2/%s/manifests/v1" % name, token=token,
                 headers={"Accept": oci_image.MT_DOCKER_MANIFEST}).expect(404, "MANIFEST_UNKNOWN")
    # Deleting a tag removes the tag only.
    http.request("DELETE", "/v2/%s/manifests/v2" % name, token=token).expect(202)
    http.get_manifest(name, "v2", token).expect(404, "MANIFEST_UNKNOWN")
    http.get_manifest(name, "v1", token).expect(200)
    http.get_manifest(name, image.manifest_digest, token).expect(200)
    # Deleting a blob unlinks it from the repository.
    layer = image.layers[0].digest
    http.request("DELETE", "/v2/%s/blobs/%s" % (name, layer), token=token).expect(202)
    http.request("HEAD", "/v2/%s/blobs/%s" % (name, layer), token=token).expect(404)
    http.request("GET", "/v2/%s/blobs/%s" % (name, layer), token=token).expect(404, "BLOB_UNKNOWN")
    http.request("DELETE", "/v2/%s/blobs/%s" % (name, layer), token=token).expect(404,
                                                                                  "BLOB_UNKNOWN")
    # Deleting the manifest by digest removes it and its tags.
    http.request("DELETE", "/v2/%s/manifests/%s" % (name, image.manifest_digest),
                 token=token).expect(202)
    http.get_manifest(name, image.manifest_digest, token).expect(404, "MANIFEST_UNKNOWN")
    http.get_manifest(name, "v1", token).expect(404, "MANIFEST_UNKNOWN")
    r = http.request("GET", "/v2/%s/tags/list" % name, token=token).expect(200)
    assert r.json["tags"] == [], r.describe()
    http.request("DELETE", "/v2/%s/manifests/%s" % (name, image.manifest_digest),
                 token=token).expect(404, "MANIFEST_UNKNOWN")
    # A delete needs the delete scope: a pull,push token is not enough.
    http.push_image(name, "v3", image, token)
    pull_push = registry.root_token(scope(name, "pull,push"))
    r = http.request("DELETE", "/v2/%s/manifests/v3" % name, token=pull_push).expect(401)
    assert "insufficient_scope" in r.headers.get("www-authenticate", ""), r.describe()
    http.get_manifest(name, "v3", token).expect(200)


def test_unknown_repository_and_paths(registry, unique):
    http = registry.http()
    name = "%s/never" % unique("unknown")
    token = registry.root_token(scope(name, "pull"))
    http.get_manifest(name, "v1", token).expect(404, "NAME_UNKNOWN")
    http.request("GET", "/v2/%s/tags/list" % name, token=token).expect(404, "NAME_UNKNOWN")
    http.request("GET", "/v2/%s/nothing-here" % name, token=token).expect(404)

"""`rampart registry gc` while the registry serves: blobs no manifest names
go, everything a manifest names stays pullable, and young blobs (a push in
progress) are kept by the grace period."""

import json
import os

from rampart_e2e import oci_image
from rampart_e2e.registry_world import scope


def blob_files(server):
    root = os.path.join(server.data_dir, "registry", "blobs")
    found = set()
    for algorithm in os.listdir(root) if os.path.isdir(root) else []:
        for prefix in os.listdir(os.path.join(root, algorithm)):
            for name in os.listdir(os.path.join(root, algorithm, prefix)):
                found.add("%s:%s" % (algorithm, name))
    return found


def gc(server, *extra):
    out = server.run_cli("registry", "gc", *server.store_args(), "--output", "json", *extra)
    return json.loads(out)


def test_gc_removes_what_no_manifest_names_and_keeps_the_rest(server, registry, unique):
    reg = registry
    kept_name = "%s/kept" % unique("gc")
    gone_name = "%s/gone" % unique("gc")
    kept = oci_image.make_image(seed=2201, layers=2, files_per_layer=1, file_size=4096)
    gone = oci_image.make_image(seed=2202, layers=2, files_per_layer=1, file_size=4096)
    token = reg.root_token(scope(kept_name, "pull,push,delete"), scope(gone_name, "pull,push,delete"))
    http = reg.http()
    http.push_image(kept_name, "v1", kept, token)
    digest = http.push_image(gone_name, "v1", gone, token)
    # A blob uploaded but never named by any manifest (an abandoned push).
    stray = os.urandom(3000)
    assert http.put_blob(gone_name, stray, token).status == 201
    stray_digest = oci_image.sha256_digest(stray)

    # Untag and delete the manifest: its blobs are now unreferenced.
    http.request("DELETE", "/v2/%s/manifests/%s" % (gone_name, digest), token=token).expect(202)

    before = blob_files(server)
    gone_blobs = set(gone.blobs()) | {stray_digest, gone.manifest_digest}
    assert gone_blobs <= before

    # Within the grace period nothing is touched.
    report = gc(server)
    assert report["BlobsRemoved"] == 0, report
    assert blob_files(server) == before

    # A dry run with no grace reports and removes nothing.
    report = gc(server, "--grace-seconds", "0", "--dry-run")
    assert report["DryRun"] is True and report["BlobsRemoved"] >= len(gone_blobs), report
    assert blob_files(server) == before

    report = gc(server, "--grace-seconds", "0")
    after = blob_files(server)
    assert report["BlobsRemoved"] >= len(gone_blobs), report
    assert not (gone_blobs & after), gone_blobs & after
    assert (set(kept.blobs()) | {kept.manifest_digest}) <= after

    # What a manifest names is still served, byte for byte.
    fetched = oci_image.fetch_image(server.registry_port, kept_name, "v1",
                                    username=reg.root_basic[0], password=reg.root_basic[1])
    assert fetched.manifest_digest == kept.manifest_digest
    for layer, data in kept.blobs().items():
        r = http.request("GET", "/v2/%s/blobs/%s" % (kept_name, layer), token=token).expect(200)
        assert r.body == data

    # The stray blob's link went too: the repository no longer serves it.
    http.request("HEAD", "/v2/%s/blobs/%s" % (gone_name, stray_digest), token=token).expect(404)

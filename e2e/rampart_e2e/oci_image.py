"""Offline OCI images for the registry tests, and byte-for-byte comparisons.

`build_image(layout_dir, seed=...)` writes a multi-layer image into an OCI
image layout (https://github.com/opencontainers/image-spec/blob/main/image-layout.md):

    LAYOUT/oci-layout                      {"imageLayoutVersion": "1.0.0"}
    LAYOUT/index.json                      an image index naming the manifest by tag
    LAYOUT/blobs/sha256/<hex>              manifest, config and the tar+gzip layers

Everything is deterministic given the seed (random file contents from
`random.Random(seed)`, fixed tar metadata, gzip with mtime 0 and no file
name), so the same seed always gives the same manifest digest. Several tags
(images) can live in one layout: call build_image again with another tag.

The layout is what the clients read (`skopeo copy oci:DIR:TAG ...`,
`podman pull oci:DIR:TAG`); `read_oci_layout`, `read_dir_image` (skopeo's
`dir:` transport) and `fetch_image` (straight from a registry over HTTP)
give back an `Image` that `diff_images` / `assert_same_image` compare: the
manifest bytes and digest, the config bytes, each layer's digest and bytes.
`assert_same_content` compares what survives a re-compression (podman push
from its own storage re-compresses layers): the config's diff_ids and the
uncompressed layer tars.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import io
import json
import os
import random
import re
import tarfile
import urllib.parse
from dataclasses import dataclass, field

MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
REF_NAME = "org.opencontainers.image.ref.name"
# Fixed timestamps: 2024-01-01T00:00:00Z.
FIXED_MTIME = 1704067200
FIXED_CREATED = "2024-01-01T00:00:00Z"


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _hex(digest: str) -> str:
    algo, _, hexpart = digest.partition(":")
    if algo != "sha256" or not re.fullmatch(r"[0-9a-f]{64}", hexpart):
        raise ValueError("unsupported digest %r" % digest)
    return hexpart


@dataclass
class Layer:
    digest: str  # of the compressed blob (what the manifest names)
    diff_id: str  # of the uncompressed tar (what the config names)
    size: int
    data: bytes  # the tar+gzip blob
    media_type: str = MT_OCI_LAYER_GZIP


@dataclass
class Image:
    """One image as bytes: what the comparisons look at."""

    manifest: bytes
    manifest_media_type: str
    config: bytes
    layers: list = field(default_factory=list)  # [Layer]
    tag: str | None = None
    source: str = ""  # where it was read from, for messages

    @property
    def manifest_digest(self) -> str:
        return sha256_digest(self.manifest)

    @property
    def manifest_json(self) -> dict:
        return json.loads(self.manifest)

    @property
    def config_digest(self) -> str:
        return sha256_digest(self.config)

    @property
    def layer_digests(self) -> list:
        return [layer.digest for layer in self.layers]

    @property
    def diff_ids(self) -> list:
        return list(json.loads(self.config)["rootfs"]["diff_ids"])

    def blobs(self) -> dict:
        """digest -> bytes for the config and every layer."""
        out = {self.config_digest: self.config}
        out.update((layer.digest, layer.data) for layer in self.layers)
        return out

    def total_size(self) -> int:
        return len(self.manifest) + len(self.config) + sum(l.size for l in self.layers)


# --------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------


def _layer_tar(rng: random.Random, index: int, files: int, file_size: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add(name, data=None, *, directory=False):
            info = tarfile.TarInfo(name)
            info.mtime = FIXED_MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if directory:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.mode = 0o644
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))

        add("layer%d" % index, directory=True)
        for n in range(files):
            # Vary sizes a little so layers differ in size too.
            size = max(1, file_size + rng.randint(-file_size // 4, file_size // 4))
            add("layer%d/file%03d.bin" % (index, n), rng.randbytes(size))
    return buf.getvalue()


def gzip_deterministic(data: bytes, level: int = 6) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=level) as gz:
        gz.write(data)
    return buf.getvalue()


def make_image(seed: int = 0, *, layers: int = 3, files_per_layer: int = 4,
               file_size: int = 64 * 1024, tag: str | None = "latest",
               architecture: str = "amd64", os_name: str = "linux",
               annotations: dict | None = None) -> Image:
    """An image in memory, deterministic given its arguments. Random content
    does not compress, so each layer is about files_per_layer * file_size
    bytes (pass file_size > 5 MiB to exercise chunked pushes)."""
    rng = random.Random(seed)
    built = []
    for i in range(layers):
        tar = _layer_tar(rng, i, files_per_layer, file_size)
        blob = gzip_deterministic(tar)
        built.append(Layer(sha256_digest(blob), sha256_digest(tar), len(blob), blob))
    config = {
        "created": FIXED_CREATED,
        "architecture": architecture,
        "os": os_name,
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/bin/true"],
            "Labels": {"rampart.e2e.seed": str(seed)},
        },
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in built]},
        "history": [{"created": FIXED_CREATED, "created_by": "rampart e2e layer %d" % i}
                    for i in range(layers)],
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": MT_OCI_MANIFEST,
        "config": {"mediaType": MT_OCI_CONFIG, "digest": sha256_digest(config_bytes),
                   "size": len(config_bytes)},
        "layers": [{"mediaType": layer.media_type, "digest": layer.digest, "size": layer.size}
                   for layer in built],
    }
    if annotations:
        manifest["annotations"] = dict(annotations)
    manifest_bytes = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    return Image(manifest_bytes, MT_OCI_MANIFEST, config_bytes, built, tag, "seed %d" % seed)


def write_layout(layout_dir: str, image: Image, tag: str | None = None) -> Image:
    """Adds `image` to the OCI layout at layout_dir (created if missing),
    under `tag` (default image.tag); a tag already there is replaced."""
    tag = tag or image.tag
    blobs = os.path.join(layout_dir, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    with open(os.path.join(layout_dir, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    for digest, data in list(image.blobs().items()) + [(image.manifest_digest, image.manifest)]:
        path = os.path.join(blobs, _hex(digest))
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(data)
    index_path = os.path.join(layout_dir, "index.json")
    index = {"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": []}
    if os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
    entry = {"mediaType": image.manifest_media_type, "digest": image.manifest_digest,
             "size": len(image.manifest)}
    if tag:
        entry["annotations"] = {REF_NAME: tag}
        index["manifests"] = [m for m in index["manifests"]
                              if (m.get("annotations") or {}).get(REF_NAME) != tag]
    index["manifests"].append(entry)
    with open(index_path, "w") as f:
        json.dump(index, f, sort_keys=True, separators=(",", ":"))
    image.tag = tag
    image.source = "oci:%s:%s" % (layout_dir, tag)
    return image


def build_image(layout_dir: str, seed: int = 0, *, tag: str = "latest", **kwargs) -> Image:
    """make_image(seed, **kwargs) written to the OCI layout at layout_dir under
    `tag`. Returns the Image (manifest_digest, layer_digests, ... for asserts)."""
    return write_layout(layout_dir, make_image(seed, tag=tag, **kwargs), tag)


# --------------------------------------------------------------------------
# Reading back
# --------------------------------------------------------------------------


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _check(digest: str, data: bytes, where: str) -> bytes:
    got = sha256_digest(data)
    if got != digest:
        raise AssertionError("%s: content digest %s != %s" % (where, got, digest))
    return data


def _image_from_manifest(manifest: bytes, media_type: str | None, get_blob, tag, source) -> Image:
    doc = json.loads(manifest)
    media_type = media_type or doc.get("mediaType") or MT_OCI_MANIFEST
    if media_type in (MT_OCI_INDEX, MT_DOCKER_LIST) or "manifests" in doc:
        raise AssertionError("%s is an index/list, not an image manifest" % source)
    config = _check(doc["config"]["digest"], get_blob(doc["config"]["digest"]), source)
    layers = []
    diff_ids = json.loads(config).get("rootfs", {}).get("diff_ids", [])
    for i, desc in enumerate(doc["layers"]):
        data = _check(desc["digest"], get_blob(desc["digest"]), source)
        layers.append(Layer(desc["digest"], diff_ids[i] if i < len(diff_ids) else "",
                            len(data), data, desc.get("mediaType", "")))
    return Image(manifest, media_type, config, layers, tag, source)


def layout_tags(layout_dir: str) -> dict:
    """tag -> manifest descriptor of the OCI layout's index.json."""
    with open(os.path.join(layout_dir, "index.json")) as f:
        index = json.load(f)
    return {(m.get("annotations") or {}).get(REF_NAME): m for m in index["manifests"]}


def read_oci_layout(layout_dir: str, tag: str | None = None) -> Image:
    """The image tagged `tag` in an OCI layout (the only one when tag is None)."""
    tags = layout_tags(layout_dir)
    if tag is None:
        if len(tags) != 1:
            raise AssertionError("%s holds %d images; name a tag" % (layout_dir, len(tags)))
        tag, desc = next(iter(tags.items()))
    else:
        if tag not in tags:
            raise AssertionError("%s has no tag %r (has %s)" % (layout_dir, tag, sorted(
                t for t in tags if t)))
        desc = tags[tag]

    def blob(digest):
        return _read(os.path.join(layout_dir, "blobs", *digest.split(":", 1)))

    manifest = _check(desc["digest"], blob(desc["digest"]), layout_dir)
    return _image_from_manifest(manifest, desc.get("mediaType"), blob, tag,
                                "oci:%s:%s" % (layout_dir, tag))


def read_dir_image(directory: str) -> Image:
    """An image in skopeo's `dir:` format (manifest.json + blobs named by
    their hex digest)."""
    manifest = _read(os.path.join(directory, "manifest.json"))

    def blob(digest):
        return _read(os.path.join(directory, _hex(digest)))

    return _image_from_manifest(manifest, None, blob, None, "dir:%s" % directory)


def fetch_image(port: int, repository: str, reference: str, *, username: str | None = None,
                password: str | None = None, host: str = "127.0.0.1", timeout: float = 30) -> Image:
    """The image straight from a registry's /v2/ API over plain HTTP (basic
    auth, or the Docker token flow when the registry answers 401 Bearer),
    independently of any client under test. Loopback only."""
    session = RegistryHTTP(port, username, password, host=host, timeout=timeout)
    accept = ", ".join([MT_OCI_MANIFEST, MT_DOCKER_MANIFEST])
    status, headers, manifest = session.get(
        "/v2/%s/manifests/%s" % (repository, reference), {"Accept": accept},
        scope="repository:%s:pull" % repository)
    if status != 200:
        raise AssertionError("GET manifest %s:%s -> %s %r" % (repository, reference, status,
                                                             manifest[:500]))
    media_type = headers.get("content-type", "").split(";")[0].strip() or None

    def blob(digest):
        st, _, data = session.get("/v2/%s/blobs/%s" % (repository, digest), {},
                                  scope="repository:%s:pull" % repository)
        if st != 200:
            raise AssertionError("GET blob %s -> %s" % (digest, st))
        return data

    return _image_from_manifest(manifest, media_type, blob, reference,
                                "http://%s:%d/%s:%s" % (host, port, repository, reference))


class RegistryHTTP:
    """Minimal registry HTTP client: follows redirects on the same host,
    answers a Basic challenge with the credentials and a Bearer challenge by
    calling the realm (GET with Basic credentials, as docker does)."""

    def __init__(self, port, username=None, password=None, *, host="127.0.0.1", timeout=30):
        self.host, self.port, self.timeout = host, port, timeout
        self.username, self.password = username, password
        self.auth = None  # the Authorization header value once known

    def _basic(self):
        raw = ("%s:%s" % (self.username, self.password)).encode()
        return "Basic " + base64.b64encode(raw).decode()

    def _raw(self, method, url, headers, body=None):
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or self.host
        port = parts.port or self.port
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise AssertionError("refusing non-loopback URL %r" % url)
        conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
        try:
            path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def get(self, path, headers, *, scope=None):
        url = "http://%s:%d%s" % (self.host, self.port, path)
        for _attempt in range(2):
            hdrs = dict(headers)
            if self.auth:
                hdrs["Authorization"] = self.auth
            status, rh, body = self._raw("GET", url, hdrs)
            for _ in range(5):
                if status in (301, 302, 303, 307, 308):
                    status, rh, body = self._raw("GET", urllib.parse.urljoin(url, rh["location"]),
                                                 dict(headers))
            if status != 401 or self.username is None:
                return status, rh, body
            challenge = rh.get("www-authenticate", "")
            if challenge.lower().startswith("basic"):
                self.auth = self._basic()
            elif challenge.lower().startswith("bearer"):
                params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
                query = {"service": params.get("service", "")}
                if scope or params.get("scope"):
                    query["scope"] = params.get("scope") or scope
                realm = params["realm"] + "?" + urllib.parse.urlencode(query)
                st, _, tok = self._raw("GET", realm, {"Authorization": self._basic()})
                if st != 200:
                    return st, {}, tok
                data = json.loads(tok)
                self.auth = "Bearer " + (data.get("token") or data.get("access_token"))
            else:
                return status, rh, body
        return status, rh, body


# --------------------------------------------------------------------------
# Comparing
# --------------------------------------------------------------------------


def diff_images(a: Image, b: Image) -> list:
    """Every byte-level difference between two images, as readable lines
    (empty when the manifests, configs and all layers are identical)."""
    out = []
    if a.manifest != b.manifest:
        out.append("manifest differs: %s (%s, %d bytes) vs %s (%s, %d bytes)" % (
            a.manifest_digest, a.manifest_media_type, len(a.manifest),
            b.manifest_digest, b.manifest_media_type, len(b.manifest)))
    if a.config != b.config:
        out.append("config differs: %s vs %s" % (a.config_digest, b.config_digest))
    if len(a.layers) != len(b.layers):
        out.append("layer count differs: %d vs %d" % (len(a.layers), len(b.layers)))
    for i, (la, lb) in enumerate(zip(a.layers, b.layers)):
        if la.digest != lb.digest:
            out.append("layer %d digest differs: %s vs %s" % (i, la.digest, lb.digest))
        elif la.data != lb.data:
            out.append("layer %d bytes differ under the same digest %s" % (i, la.digest))
    return out


def assert_same_image(a: Image, b: Image) -> None:
    """a and b are byte-for-byte the same image (manifest, config, layers)."""
    diffs = diff_images(a, b)
    assert not diffs, "%s and %s differ:\n  %s" % (a.source, b.source, "\n  ".join(diffs))


def uncompressed_layers(image: Image) -> list:
    """The layers' tar bytes (gunzipped where compressed)."""
    out = []
    for layer in image.layers:
        data = layer.data
        out.append(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    return out


def assert_same_content(a: Image, b: Image) -> None:
    """a and b carry the same filesystem content and the same config, even if
    a client re-compressed the layers or re-serialized the manifest: same
    diff_ids, and each layer's uncompressed tar hashes to its diff_id."""
    assert a.diff_ids == b.diff_ids, "diff_ids differ: %s vs %s" % (a.diff_ids, b.diff_ids)
    for image in (a, b):
        tars = uncompressed_layers(image)
        assert [sha256_digest(t) for t in tars] == image.diff_ids, (
            "%s: uncompressed layers do not match the config's diff_ids" % image.source)
    ca, cb = json.loads(a.config), json.loads(b.config)
    for key in ("architecture", "os", "rootfs"):
        assert ca.get(key) == cb.get(key), "config %s differs: %r vs %r" % (
            key, ca.get(key), cb.get(key))
    assert (ca.get("config") or {}).get("Labels") == (cb.get("config") or {}).get("Labels")

"""Real registry clients (skopeo, podman, the docker CLI) run against a
plain-http registry on 127.0.0.1, each in a sandbox of its own.

    env = ClientEnv(tmp_path, "127.0.0.1:%d" % port)
    r = env.skopeo_push(layout, "v1", "ns/app:v1", creds=("alice", "pw"))
    r.expect_ok()
    env.podman_pull("ns/app:v1", creds=("bob", "pw")).expect_denied()

Every wrapper returns a `Result` (argv, returncode, stdout, stderr) and
never raises on a failing client, so tests can assert on refused pulls and
pushes; `Result.expect_ok()` and `Result.expect_denied()` do the common
checks with the whole output in the failure message. Only a client that
hangs past its timeout raises (`ClientTimeout`).

References: `ref` is always relative to the env's registry ("ns/repo:tag",
"ns/repo@sha256:..."); the wrappers add "127.0.0.1:PORT/" and the
transport prefix.

Credentials: `creds=("user", "password")` (or "user:password") passes them
on the command line of that one call (skopeo --creds/--src-creds/--dest-creds,
podman --creds); `creds=None` passes nothing, so the client uses what a
previous `*_login` of this env stored in its authfile, and is anonymous when
there was none; `creds=ANONYMOUS` forces an anonymous call even after a login
(skopeo --no-creds; podman gets an empty authfile).

Isolation (nothing of the machine's is read or written, nothing leaves
127.0.0.1):
  * HOME, XDG_RUNTIME_DIR, XDG_CONFIG_HOME, XDG_DATA_HOME, TMPDIR point into
    the env's folder; proxies are removed from the environment;
  * CONTAINERS_REGISTRIES_CONF: a registries.conf with no unqualified-search
    registries and the registry marked insecure (plain http);
  * CONTAINERS_CONF: cgroupfs, file events, no network backend use;
    CONTAINERS_STORAGE_CONF: vfs storage under the env's folder (podman is
    also given --root/--runroot/--storage-driver vfs/--tmpdir explicitly);
  * --policy: a signature policy accepting anything (skopeo, podman);
  * --authfile / REGISTRY_AUTH_FILE: the env's own auth.json (created empty:
    podman refuses a missing --authfile);
  * docker: --config DIR, DOCKER_HOST pointing at a socket that does not
    exist, so the CLI never reaches an engine and logs in client-side;
  * containers/image keeps, as root, a blob-info cache in
    /var/lib/containers/cache shared by every skopeo/podman run on the
    machine: it makes podman/skopeo try cross-repository mounts and skip
    uploads depending on earlier runs. When `unshare` works (root), every
    skopeo/podman call runs in a private mount namespace with the env's own
    cache directory bind-mounted there (`blob_cache_isolated` says whether).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
import weakref
from dataclasses import dataclass

SKOPEO = os.environ.get("RAMPART_E2E_SKOPEO", "skopeo")
PODMAN = os.environ.get("RAMPART_E2E_PODMAN", "podman")
DOCKER = os.environ.get("RAMPART_E2E_DOCKER", "docker")
DEFAULT_TIMEOUT = float(os.environ.get("RAMPART_E2E_CLIENT_TIMEOUT", "180"))
SYSTEM_BLOB_CACHE = "/var/lib/containers/cache"


class _Anonymous:
    def __repr__(self):
        return "ANONYMOUS"


ANONYMOUS = _Anonymous()

# What the clients print when the registry refused the credentials or the
# access (401 / 403 / insufficient scope), as seen with CNCF Distribution:
#   skopeo, podman:  "unauthorized: authentication required", "denied: ...",
#                    "requested access to the resource is denied",
#                    "invalid username/password" (podman login)
#   docker login:    "login attempt to http://H/v2/ failed with status: 401 Unauthorized"
#   docker manifest: "no basic auth credentials", "unauthorized: ..."
DENIED_RE = re.compile(
    r"unauthorized|authentication required|denied|invalid username/password|"
    r"no basic auth credentials|insufficient_scope|status: 40[13]|\b40[13]\b",
    re.IGNORECASE,
)
# A manifest or repository that is not there.
NOT_FOUND_RE = re.compile(r"manifest unknown|name unknown|no such manifest|not found|\b404\b",
                          re.IGNORECASE)


class ClientTimeout(AssertionError):
    pass


def available(binary: str) -> bool:
    return shutil.which(binary) is not None


def missing_clients() -> list:
    """The client binaries (skopeo, podman, docker) not on PATH."""
    return [b for b in (SKOPEO, PODMAN, DOCKER) if not available(b)]


@dataclass
class Result:
    argv: list
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def describe(self) -> str:
        return "$ %s\nexit %s\n--- stdout\n%s\n--- stderr\n%s" % (
            " ".join(self.argv), self.returncode, self.stdout[-6000:], self.stderr[-6000:])

    def expect_ok(self) -> "Result":
        assert self.returncode == 0, "client failed:\n%s" % self.describe()
        return self

    def expect_failed(self, pattern=None) -> "Result":
        """Non-zero exit, and `pattern` (regex or compiled) in the output when given."""
        assert self.returncode != 0, "client succeeded but should have failed:\n%s" % (
            self.describe())
        if pattern is not None:
            rx = re.compile(pattern, re.IGNORECASE) if isinstance(pattern, str) else pattern
            assert rx.search(self.output), "output does not match %r:\n%s" % (
                rx.pattern, self.describe())
        return self

    def expect_denied(self) -> "Result":
        """Non-zero exit with an authentication/authorization refusal in the output."""
        return self.expect_failed(DENIED_RE)

    def expect_not_found(self) -> "Result":
        return self.expect_failed(NOT_FOUND_RE)

    def json(self):
        return json.loads(self.stdout)


def _creds_str(creds) -> str:
    if isinstance(creds, (tuple, list)):
        user, password = creds
        return "%s:%s" % (user, password)
    return str(creds)


@functools.lru_cache(maxsize=1)
def _unshare_works() -> bool:
    if os.geteuid() != 0 or not available("unshare") or not available("mount"):
        return False
    try:
        os.makedirs(SYSTEM_BLOB_CACHE, mode=0o700, exist_ok=True)
        probe = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount --bind "$0" "$1" && exit 0', "/tmp", SYSTEM_BLOB_CACHE],
            capture_output=True, timeout=20)
        return probe.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


class ClientEnv:
    """A sandbox for the clients talking to one registry `host`
    ("127.0.0.1:PORT", plain http). `workdir` must be an empty or new folder
    (pytest's tmp_path / "clients" is a good choice)."""

    def __init__(self, workdir, host: str, *, timeout: float = DEFAULT_TIMEOUT,
                 isolate_blob_cache: bool = True):
        if not re.fullmatch(r"(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+", host):
            raise ValueError("registry host must be loopback HOST:PORT, got %r" % host)
        self.host = host
        self.timeout = timeout
        self.dir = os.path.abspath(str(workdir))
        d = self.path
        for sub in ("home", "xdg-run", "xdg-config", "xdg-data", "tmp", "docker", "blob-cache",
                    "podman/root", "podman/tmp", "podman/volumes", "podman/networks",
                    "registries.d"):
            os.makedirs(d(sub), mode=0o700, exist_ok=True)
        # podman refuses a --runroot longer than 50 characters (conmon's
        # socket paths), so it lives in a short folder of its own under /tmp,
        # removed by close() or when the env is garbage-collected.
        self.runroot = tempfile.mkdtemp(prefix="rp-run-", dir="/tmp")
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.runroot, True)
        self.authfile = d("auth.json")
        self.empty_authfile = d("auth-empty.json")
        for f in (self.authfile, self.empty_authfile):
            with open(f, "w") as fh:
                json.dump({"auths": {}}, fh)
        self.policy = d("policy.json")
        with open(self.policy, "w") as f:
            json.dump({"default": [{"type": "insecureAcceptAnything"}]}, f)
        self.registries_conf = d("registries.conf")
        with open(self.registries_conf, "w") as f:
            f.write('unqualified-search-registries = []\nshort-name-mode = "disabled"\n\n'
                    '[[registry]]\nlocation = "%s"\ninsecure = true\n' % host)
        self.containers_conf = d("containers.conf")
        with open(self.containers_conf, "w") as f:
            f.write('[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
                    'events_logfile_path = "%s"\nlock_type = "file"\n'
                    '[network]\nnetwork_config_dir = "%s"\n'
                    % (d("podman/events.log"), d("podman/networks")))
        self.storage_conf = d("storage.conf")
        with open(self.storage_conf, "w") as f:
            f.write('[storage]\ndriver = "vfs"\nrunroot = "%s"\ngraphroot = "%s"\n'
                    % (self.runroot, d("podman/root")))
        self.docker_config = d("docker")
        self.blob_cache_isolated = isolate_blob_cache and _unshare_works()
        self.env = self._make_env()

    # -- plumbing ----------------------------------------------------------

    def close(self):
        """Removes the short runroot under /tmp (the rest is under workdir)."""
        self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def path(self, *parts) -> str:
        return os.path.join(self.dir, *parts)

    def _make_env(self) -> dict:
        env = {k: v for k, v in os.environ.items()
               if k.upper() not in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
                                    "DOCKER_CONFIG", "DOCKER_CONTEXT", "DOCKER_CERT_PATH",
                                    "DOCKER_TLS_VERIFY", "REGISTRY_AUTH_FILE",
                                    "CONTAINER_HOST", "CONTAINER_CONNECTION")}
        env.update({
            "HOME": self.path("home"),
            "XDG_RUNTIME_DIR": self.path("xdg-run"),
            "XDG_CONFIG_HOME": self.path("xdg-config"),
            "XDG_DATA_HOME": self.path("xdg-data"),
            "TMPDIR": self.path("tmp"),
            "NO_PROXY": "127.0.0.1,localhost,::1",
            "no_proxy": "127.0.0.1,localhost,::1",
            "CONTAINERS_REGISTRIES_CONF": self.registries_conf,
            "CONTAINERS_CONF": self.containers_conf,
            "CONTAINERS_STORAGE_CONF": self.storage_conf,
            "REGISTRY_AUTH_FILE": self.authfile,
            "DOCKER_HOST": "unix://%s" % self.path("docker", "no-engine.sock"),
            "DOCKER_CLI_HINTS": "false",
            "LC_ALL": "C",
        })
        return env

    def run(self, argv, *, stdin: str | None = None, timeout: float | None = None,
            isolate: bool = False) -> Result:
        """Runs argv in this env. isolate=True: inside a private mount
        namespace with the env's own blob-info cache (skopeo, podman)."""
        argv = [str(a) for a in argv]
        full = argv
        if isolate and self.blob_cache_isolated:
            full = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                    'mount --bind "$0" "$1" && shift && exec "$@"',
                    self.path("blob-cache"), SYSTEM_BLOB_CACHE] + argv
        try:
            proc = subprocess.run(full, input=stdin, capture_output=True, text=True,
                                  env=self.env, cwd=self.dir, timeout=timeout or self.timeout)
        except subprocess.TimeoutExpired as exc:
            raise ClientTimeout("client did not finish in %ss: %s\n--- stdout\n%s\n--- stderr\n%s"
                                % (exc.timeout, " ".join(argv), exc.stdout or "",
                                   exc.stderr or "")) from None
        return Result(argv, proc.returncode, proc.stdout, proc.stderr)

    def ref(self, ref: str) -> str:
        """"ns/app:v1" -> "127.0.0.1:PORT/ns/app:v1"."""
        if ref.startswith(self.host + "/"):
            return ref
        return "%s/%s" % (self.host, ref.lstrip("/"))

    def local_name(self, local: str) -> str:
        """A podman image reference: an image id (hex, or sha256:hex) or a
        name with a registry host ("localhost/x", "127.0.0.1:P/ns/app:v1") is
        kept; a relative "ns/app:v1" becomes HOST/ns/app:v1."""
        if re.fullmatch(r"(sha256:)?[0-9a-f]{12,64}", local):
            return local
        first = local.split("/", 1)[0]
        if "/" in local and ("." in first or ":" in first or first == "localhost"):
            return local
        return self.ref(local)

    def docker_ref(self, ref: str) -> str:
        return "docker://" + self.ref(ref)

    # -- skopeo ------------------------------------------------------------
    # skopeo --policy P --registries.d D copy [--src-|--dest-]tls-verify=false
    #        [--src-creds U:P | --src-no-creds] [--dest-creds U:P | --dest-no-creds]
    #        [--preserve-digests] [--authfile A] SRC DEST

    def _skopeo(self, *args, **kw) -> Result:
        return self.run([SKOPEO, "--policy", self.policy, "--registries.d",
                         self.path("registries.d"), *args], isolate=True, **kw)

    @staticmethod
    def _skopeo_creds(side: str, creds) -> list:
        prefix = "--%s-" % side if side else "--"
        if creds is None:
            return []
        if creds is ANONYMOUS:
            return [prefix + "no-creds"]
        return [prefix + "creds", _creds_str(creds)]

    def skopeo_copy(self, src: str, dest: str, *, src_creds=None, dest_creds=None,
                    preserve_digests: bool = False, format: str | None = None,
                    digestfile: str | None = None, extra=()) -> Result:
        """skopeo copy SRC DEST with full transport names ("oci:DIR:TAG",
        "docker://127.0.0.1:P/ns/app:v1", "dir:DIR"). TLS verification is off
        on whichever side is docker://."""
        args = ["copy", "--authfile", self.authfile]
        if src.startswith("docker://"):
            args += ["--src-tls-verify=false"] + self._skopeo_creds("src", src_creds)
        if dest.startswith("docker://"):
            args += ["--dest-tls-verify=false"] + self._skopeo_creds("dest", dest_creds)
        if preserve_digests:
            args.append("--preserve-digests")
        if format:
            args += ["--format", format]
        if digestfile:
            args += ["--digestfile", digestfile]
        return self._skopeo(*args, *extra, src, dest)

    def skopeo_push(self, layout_dir: str, tag: str, ref: str, *, creds=None,
                    preserve_digests: bool = True, extra=()) -> Result:
        """oci:LAYOUT:TAG -> docker://HOST/REF. preserve_digests (default on)
        makes skopeo fail rather than change the manifest, so the registry
        gets the layout's bytes exactly."""
        return self.skopeo_copy("oci:%s:%s" % (layout_dir, tag), self.docker_ref(ref),
                                dest_creds=creds, preserve_digests=preserve_digests,
                                digestfile=self.path("tmp", "pushed-digest"), extra=extra)

    def pushed_digest(self) -> str:
        """The manifest digest the last skopeo_push wrote (its --digestfile)."""
        with open(self.path("tmp", "pushed-digest")) as f:
            return f.read().strip()

    def skopeo_pull(self, ref: str, dest_dir: str, *, creds=None, fmt: str = "oci",
                    tag: str = "latest", preserve_digests: bool = True, extra=()) -> Result:
        """docker://HOST/REF -> oci:DEST_DIR:TAG (fmt="oci") or dir:DEST_DIR
        (fmt="dir"). Read it back with oci_image.read_oci_layout(dest_dir, tag)
        or oci_image.read_dir_image(dest_dir)."""
        dest = "oci:%s:%s" % (dest_dir, tag) if fmt == "oci" else "dir:%s" % dest_dir
        return self.skopeo_copy(self.docker_ref(ref), dest, src_creds=creds,
                                preserve_digests=preserve_digests, extra=extra)

    def skopeo_inspect(self, ref: str, *, creds=None, raw: bool = False, config: bool = False,
                       extra=()) -> Result:
        """skopeo inspect [--raw | --config] docker://HOST/REF (JSON on
        stdout: Result.json()). --raw prints the manifest bytes as stored."""
        args = ["inspect", "--tls-verify=false", "--authfile", self.authfile]
        args += self._skopeo_creds("", creds)
        if raw:
            args.append("--raw")
        if config:
            args.append("--config")
        return self._skopeo(*args, *extra, self.docker_ref(ref))

    def skopeo_list_tags(self, repo: str, *, creds=None) -> Result:
        args = ["list-tags", "--tls-verify=false", "--authfile", self.authfile]
        args += self._skopeo_creds("", creds)
        return self._skopeo(*args, "docker://" + self.ref(repo))

    def skopeo_delete(self, ref: str, *, creds=None) -> Result:
        args = ["delete", "--tls-verify=false", "--authfile", self.authfile]
        args += self._skopeo_creds("", creds)
        return self._skopeo(*args, self.docker_ref(ref))

    def skopeo_login(self, user: str, password: str) -> Result:
        """Stores the credentials in this env's authfile (after checking them
        against GET /v2/)."""
        return self._skopeo("login", "--tls-verify=false", "--authfile", self.authfile,
                            "--username", user, "--password-stdin", self.host,
                            stdin=password + "\n")

    # -- podman ------------------------------------------------------------
    # podman --root R --runroot RR --tmpdir T --storage-driver vfs
    #        --cgroup-manager cgroupfs --events-backend file VERB ...
    # with CONTAINERS_CONF / CONTAINERS_REGISTRIES_CONF / CONTAINERS_STORAGE_CONF
    # of this env, `--tls-verify=false --authfile A` on login/pull/push.

    def podman(self, *args, stdin: str | None = None, timeout: float | None = None) -> Result:
        """Any podman command in this env's isolated storage."""
        return self.run([PODMAN, "--root", self.path("podman/root"),
                         "--runroot", self.runroot,
                         "--tmpdir", self.path("podman/tmp"),
                         "--volumepath", self.path("podman/volumes"),
                         "--network-config-dir", self.path("podman/networks"),
                         "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
                         "--events-backend", "file", *args],
                        stdin=stdin, timeout=timeout, isolate=True)

    def _podman_auth(self, creds) -> list:
        if creds is ANONYMOUS:
            return ["--authfile", self.empty_authfile]
        args = ["--authfile", self.authfile]
        if creds is not None:
            args += ["--creds", _creds_str(creds)]
        return args

    def podman_login(self, user: str, password: str) -> Result:
        return self.podman("login", "--tls-verify=false", "--authfile", self.authfile,
                           "--username", user, "--password-stdin", self.host,
                           stdin=password + "\n")

    def podman_logout(self) -> Result:
        return self.podman("logout", "--authfile", self.authfile, self.host)

    def podman_load_oci(self, layout_dir: str, tag: str, name: str | None = None) -> Result:
        """Loads oci:LAYOUT:TAG into podman's storage (`podman pull oci:...`,
        offline) and tags it `name` ("ns/app:v1" -> HOST/ns/app:v1) when given."""
        r = self.podman("pull", "--signature-policy", self.policy,
                        "oci:%s:%s" % (layout_dir, tag))
        if r.ok and name:
            image_id = r.stdout.strip().splitlines()[-1]
            t = self.podman("tag", image_id, self.ref(name))
            if not t.ok:
                return t
        return r

    def podman_pull(self, ref: str, *, creds=None, extra=()) -> Result:
        """podman pull --tls-verify=false HOST/REF (stdout ends with the image id)."""
        return self.podman("pull", "--tls-verify=false", "--signature-policy", self.policy,
                           *self._podman_auth(creds), *extra, self.ref(ref))

    def podman_push(self, local: str, ref: str | None = None, *, creds=None,
                    digestfile: str | None = None, extra=()) -> Result:
        """podman push --tls-verify=false LOCAL [HOST/REF]. `local` is an image
        in podman's storage (id or name; a relative "ns/app:v1" is taken as
        HOST/ns/app:v1). Podman re-compresses layers from its storage, so the
        pushed layer and manifest digests differ from the OCI layout's (the
        diff_ids and config do not): compare with oci_image.assert_same_content."""
        args = ["push", "--tls-verify=false", "--signature-policy", self.policy,
                *self._podman_auth(creds)]
        if digestfile:
            args += ["--digestfile", digestfile]
        args += list(extra) + [self.local_name(local)]
        if ref is not None:
            args.append("docker://" + self.ref(ref))
        return self.podman(*args)

    def podman_export(self, local: str, dest_dir: str) -> Result:
        """Writes an image from podman's storage to dir:DEST_DIR (read it with
        oci_image.read_dir_image), e.g. to check what a pull brought in."""
        return self.podman("push", "--signature-policy", self.policy, "--format", "oci",
                           self.local_name(local), "dir:%s" % dest_dir)

    def podman_image_ids(self) -> Result:
        return self.podman("images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}")

    def podman_rmi_all(self) -> Result:
        return self.podman("rmi", "--all", "--force")

    # -- docker CLI (no engine) --------------------------------------------
    # docker --config DIR login HOST -u U --password-stdin   (client-side login:
    #   https first, then http because 127.0.0.0/8 is insecure by default)
    # docker --config DIR manifest inspect --insecure [-v] HOST/REF
    # docker --config DIR manifest create --insecure LIST IMAGE... / push --insecure LIST

    def docker(self, *args, stdin: str | None = None, timeout: float | None = None) -> Result:
        return self.run([DOCKER, "--config", self.docker_config, *args], stdin=stdin,
                        timeout=timeout)

    def docker_login(self, user: str, password: str) -> Result:
        return self.docker("login", self.host, "--username", user, "--password-stdin",
                           stdin=password + "\n")

    def docker_logout(self) -> Result:
        return self.docker("logout", self.host)

    def docker_manifest_inspect(self, ref: str, *, verbose: bool = False,
                                insecure: bool = True) -> Result:
        """The manifest as JSON (Result.json()); with verbose=True a
        {"Ref","Descriptor":{"digest",...},"Raw":base64,...} wrapper that
        carries the manifest digest. Uses the credentials of docker_login."""
        args = ["manifest", "inspect"]
        if insecure:
            args.append("--insecure")
        if verbose:
            args.append("--verbose")
        return self.docker(*args, self.ref(ref))

    def docker_manifest_create_push(self, list_ref: str, image_refs, *,
                                    insecure: bool = True) -> Result:
        """docker manifest create LIST IMAGE...; docker manifest push LIST: a
        Docker manifest list pushed by the CLI alone (the images must already
        be in the registry). Returns the push's Result (or the create's when
        that failed); the push prints the list's digest on stdout."""
        flag = ["--insecure"] if insecure else []
        c = self.docker("manifest", "create", *flag, "--amend", self.ref(list_ref),
                        *[self.ref(r) for r in image_refs])
        if not c.ok:
            return c
        return self.docker("manifest", "push", *flag, "--purge", self.ref(list_ref))

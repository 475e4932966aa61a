"""The container-registry side of rampart for the tests: registry instances
(made with `rampart registry instance create`), RAM users with registry
logins, the ACR API through the Tea CR client, and plain HTTP to the
registry listener (the Docker token realm at /token, the OCI API under /v2/).

Host routing: the registry picks the instance by the `Host` header. The
session's default instance is created with the extra domain `127.0.0.1`, so
plain `127.0.0.1:PORT` (what skopeo, podman and docker send) reaches it by
name, not by the "oldest instance" fallback. Other instances are reached
with raw HTTP and a `Host` header naming one of their domains
(`RegistryHTTP(port, host=...)`).
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import urllib.parse
from dataclasses import dataclass

from . import oci_image
from .sdk import Credentials, TeaCaller

REGION = "cn-hangzhou"


# --------------------------------------------------------------------------
# Plain HTTP to the registry listener
# --------------------------------------------------------------------------


@dataclass
class Resp:
    status: int
    headers: dict  # lower-case names
    body: bytes
    what: str = ""

    @property
    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None

    @property
    def error_codes(self) -> list:
        data = self.json
        if not isinstance(data, dict) or not isinstance(data.get("errors"), list):
            return []
        return [e.get("code") for e in data["errors"] if isinstance(e, dict)]

    def describe(self) -> str:
        return "%s -> %s %s %s" % (self.what, self.status, self.headers, self.body[:1500])

    def expect(self, status: int, code: str | None = None) -> "Resp":
        assert self.status == status, "expected %s:\n%s" % (status, self.describe())
        if code is not None:
            assert code in self.error_codes, "expected error code %s:\n%s" % (
                code, self.describe())
        return self


class RegistryHTTP:
    """Requests to the registry listener on 127.0.0.1:port, with `host` as
    the Host header (default 127.0.0.1:port: the session's default instance)."""

    def __init__(self, port: int, host: str | None = None, timeout: float = 60):
        self.port = port
        self.host = host or "127.0.0.1:%d" % port
        self.timeout = timeout

    def request(self, method, path, *, headers=None, body=None, token=None,
                basic=None) -> Resp:
        hdrs = {"Host": self.host}
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
        if basic is not None:
            raw = ("%s:%s" % basic).encode()
            hdrs["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        hdrs.update(headers or {})
        if body is not None and "Content-Length" not in hdrs:
            hdrs["Content-Length"] = str(len(body))
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            return Resp(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data,
                        "%s %s (Host %s)" % (method, path, self.host))
        finally:
            conn.close()

    # -- the token realm --------------------------------------------------

    def challenge(self, path="/v2/") -> dict:
        """The Bearer challenge's parameters of an anonymous request."""
        r = self.request("GET", path)
        assert r.status == 401, r.describe()
        value = r.headers.get("www-authenticate", "")
        assert value.startswith("Bearer "), r.describe()
        return dict(re.findall(r'(\w+)="([^"]*)"', value))

    def token_response(self, *scopes, basic=None) -> Resp:
        query = [("service", "rampart")] + [("scope", s) for s in scopes]
        return self.request("GET", "/token?" + urllib.parse.urlencode(query), basic=basic)

    def token(self, *scopes, basic=None) -> str:
        """A bearer token from GET /token (Basic credentials, or anonymous)."""
        r = self.token_response(*scopes, basic=basic).expect(200)
        data = r.json
        assert data["token"] == data["access_token"] and isinstance(data["expires_in"], int), data
        return data["token"]

    # -- small OCI operations ---------------------------------------------

    def put_blob(self, name: str, data: bytes, token: str) -> Resp:
        digest = oci_image.sha256_digest(data)
        return self.request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (name, digest),
                            body=data, token=token,
                            headers={"Content-Type": "application/octet-stream"})

    def put_manifest(self, name: str, ref: str, manifest: bytes, token: str,
                     media_type=oci_image.MT_OCI_MANIFEST) -> Resp:
        return self.request("PUT", "/v2/%s/manifests/%s" % (name, ref), body=manifest,
                            token=token, headers={"Content-Type": media_type})

    def push_image(self, name: str, tag: str, image, token: str) -> str:
        """Pushes an oci_image.Image (blobs monolithically, then the manifest
        under `tag`); returns the manifest digest."""
        for digest, data in image.blobs().items():
            r = self.put_blob(name, data, token)
            assert r.status == 201, r.describe()
            assert r.headers.get("docker-content-digest") == digest, r.describe()
        r = self.put_manifest(name, tag, image.manifest, token, image.manifest_media_type)
        assert r.status == 201, r.describe()
        assert r.headers.get("docker-content-digest") == image.manifest_digest, r.describe()
        return image.manifest_digest

    def get_manifest(self, name: str, ref: str, token=None) -> Resp:
        accept = ", ".join([oci_image.MT_OCI_MANIFEST, oci_image.MT_OCI_INDEX,
                            oci_image.MT_DOCKER_MANIFEST, oci_image.MT_DOCKER_LIST])
        return self.request("GET", "/v2/%s/manifests/%s" % (name, ref), token=token,
                            headers={"Accept": accept})


# --------------------------------------------------------------------------
# Policies
# --------------------------------------------------------------------------


def statement(effect, actions, resources):
    return {"Effect": effect, "Action": list(actions) if not isinstance(actions, str)
            else [actions], "Resource": list(resources) if not isinstance(resources, str)
            else [resources]}


def policy_doc(*statements) -> str:
    return json.dumps({"Version": "1", "Statement": list(statements)})


# --------------------------------------------------------------------------
# Accounts, instances, users
# --------------------------------------------------------------------------


@dataclass
class RegUser:
    name: str
    creds: Credentials  # the user's AccessKey
    account: str
    password: str | None = None  # fixed registry password, once set

    @property
    def login(self) -> str:
        return "%s@%s" % (self.name, self.account)

    @property
    def basic(self):
        assert self.password, "user %s has no registry password" % self.name
        return (self.login, self.password)


class RegistryAccount:
    """An account with one registry instance: its root key, RAM and CR
    clients, and helpers to make users with custom policies."""

    def __init__(self, server, root: Credentials, instance: dict, unique):
        self.server = server
        self.root = root
        self.id = root.account_id
        self.instance = instance
        self.iid = instance["InstanceId"]
        self.region = instance["RegionId"]
        self.unique = unique
        self.ram = TeaCaller(server.port, root)
        self.cr_root = TeaCaller(server.port, root, product="cr")
        self.domains = [d["Domain"] for d in instance["Domains"]]
        self.default_domain = next(d["Domain"] for d in instance["Domains"]
                                   if d["Type"] == "default")

    # ARNs ---------------------------------------------------------------

    def instance_arn(self) -> str:
        return "acs:cr:%s:%s:instance/%s" % (self.region, self.id, self.iid)

    def repo_arn(self, ns: str, repo: str | None = None) -> str:
        tail = ns if repo is None else "%s/%s" % (ns, repo)
        return "acs:cr:%s:%s:repository/%s/%s" % (self.region, self.id, self.iid, tail)

    # clients --------------------------------------------------------------

    def cr(self, creds: Credentials) -> TeaCaller:
        return TeaCaller(self.server.port, creds, product="cr")

    def http(self, host: str | None = None) -> RegistryHTTP:
        """Raw HTTP to this instance: by its default domain unless `host`."""
        return RegistryHTTP(self.server.registry_port,
                            host or "%s:%d" % (self.default_domain, self.server.registry_port))

    # users ------------------------------------------------------------------

    def policy(self, document: str) -> str:
        name = self.unique("crpol")
        self.ram.call("CreatePolicy", {"PolicyName": name, "PolicyDocument": document})
        return name

    def attach(self, user: str, policy: str, kind="Custom"):
        self.ram.call("AttachPolicyToUser", {"PolicyType": kind, "PolicyName": policy,
                                             "UserName": user})

    def detach(self, user: str, policy: str, kind="Custom"):
        self.ram.call("DetachPolicyFromUser", {"PolicyType": kind, "PolicyName": policy,
                                               "UserName": user})

    def user(self, prefix="cruser", *statements, system=(), password: str | None = None) -> RegUser:
        """A RAM user with a custom policy of `statements` (if any) and the
        given system policies. With `password`, its fixed registry password
        is set by the user itself through ResetLoginPassword (its policy
        must allow cr:ResetLoginPassword on the instance)."""
        name = self.unique(prefix)
        self.ram.call("CreateUser", {"UserName": name})
        if statements:
            self.attach(name, self.policy(policy_doc(*statements)))
        for p in system:
            self.attach(name, p, "System")
        key = self.ram.call("CreateAccessKey", {"UserName": name})["AccessKey"]
        user = RegUser(name, Credentials(key["AccessKeyId"], key["AccessKeySecret"], None),
                       self.id)
        if password:
            self.cr(user.creds).call("ResetLoginPassword", {"InstanceId": self.iid,
                                                             "Password": password})
            user.password = password
        return user

    def temp_login(self, creds: Credentials, **params) -> tuple:
        """GetAuthorizationToken for `creds` -> (TempUsername, AuthorizationToken, body)."""
        body = self.cr(creds).call("GetAuthorizationToken", dict(InstanceId=self.iid, **params))
        return body["TempUsername"], body["AuthorizationToken"], body

    def create_repo(self, ns: str, repo: str, repo_type="PRIVATE", **extra) -> str:
        params = {"InstanceId": self.iid, "RepoNamespaceName": ns, "RepoName": repo,
                  "RepoType": repo_type, "Summary": "e2e"}
        params.update(extra)
        return self.cr_root.call("CreateRepository", params)["RepoId"]


class RegistryWorld(RegistryAccount):
    """The session's default instance, in the first account: plain
    127.0.0.1:PORT reaches it. Root has a fixed registry password."""

    ROOT_PASSWORD = "Root-registry-pw-1"

    def __init__(self, server, root: Credentials, unique):
        instance = server.create_registry_instance(root.account_id, unique("dflt"), REGION,
                                                   domains=("127.0.0.1",))
        super().__init__(server, root, instance, unique)
        self.host = "127.0.0.1:%d" % server.registry_port
        self.cr_root.call("ResetLoginPassword", {"InstanceId": self.iid,
                                                 "Password": self.ROOT_PASSWORD})
        self.root_basic = (self.id, self.ROOT_PASSWORD)

    def http(self, host: str | None = None) -> RegistryHTTP:
        return RegistryHTTP(self.server.registry_port, host or self.host)

    def root_token(self, *scopes) -> str:
        return self.http().token(*scopes, basic=self.root_basic)

    def another_instance(self, prefix="inst", root: Credentials | None = None) -> RegistryAccount:
        """A further instance (of the first account, or of `root`'s)."""
        root = root or self.root
        instance = self.server.create_registry_instance(root.account_id, self.unique(prefix),
                                                        REGION)
        return RegistryAccount(self.server, root, instance, self.unique)


def scope(name: str, actions="pull") -> str:
    return "repository:%s:%s" % (name, actions)


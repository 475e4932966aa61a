"""Factories for the official SDK clients, pointed at a local rampart over
plain http (protocol notes §4), behind one small interface:

    caller.call(action, params) -> the response JSON (a dict)   or raises ApiError
    caller.call_generic(action, params, version=...)            any action/version

Every caller checks the success envelope (RequestId, no foreign Code, the
SDK model's field names and types) so a test cannot pass on an empty 200.

Clients (for RAM by default; `product="sts"` gives the STS ones):
  tea_v3   alibabacloud_ram20150501 / alibabacloud_sts20150401 Client, default ACS3-HMAC-SHA256
  tea_v2   the same client with Config(signature_algorithm='v2'): V1 RPC signing
  classic  aliyunsdkcore.client.AcsClient + aliyunsdkram / aliyunsdksts request classes
  popcore  @alicloud/pop-core (Node.js), via node/popcore.js, GET or POST

Credentials with a `security_token` are temporary (STS) credentials: every
client sends the token the way it does against Alibaba Cloud.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
from dataclasses import dataclass

from . import config, shapes
from .errors import ApiError

E2E_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODE_DIR = os.path.join(E2E_DIR, "node")
POPCORE_RUNNER = os.path.join(NODE_DIR, "popcore.js")


@dataclass(frozen=True)
class Credentials:
    """An AccessKey pair; `account_id` is set for root keys of an account."""

    access_key_id: str
    access_key_secret: str
    account_id: str | None = None
    alias: str | None = None
    security_token: str | None = None

    def with_secret(self, secret):
        return Credentials(self.access_key_id, secret, self.account_id, self.alias,
                           self.security_token)

    def with_wrong_secret(self):
        s = self.access_key_secret
        return self.with_secret(s[:-1] + ("x" if s[-1:] != "x" else "y"))


# What each product's clients are made of.
PRODUCTS = {
    "ram": {"version": config.RAM_VERSION, "tea": "alibabacloud_ram20150501",
            "classic": "aliyunsdkram.request.v20150501"},
    "sts": {"version": config.STS_VERSION, "tea": "alibabacloud_sts20150401",
            "classic": "aliyunsdksts.request.v20150401"},
    # Container Registry (ACR EE OpenAPI): the Tea client only.
    "cr": {"version": "2018-12-01", "tea": "alibabacloud_cr20181201", "classic": None},
}


def _snake(action: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", action).lower()


def _str(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


class Caller:
    name = "?"
    version = config.RAM_VERSION

    def call(self, action: str, params: dict | None = None) -> dict:
        body = self._call(action, dict(params or {}))
        shapes.assert_success_body(action, body, self.version)
        return body

    def call_generic(self, action: str, params: dict | None = None, *, version=None) -> dict:
        return self._call_generic(action, dict(params or {}), version or self.version)

    def __repr__(self):
        return "<%s>" % self.name


# --------------------------------------------------------------------------
# Tea (alibabacloud_ram20150501 on alibabacloud_tea_openapi)
# --------------------------------------------------------------------------


def _recording_client_class(product="ram"):
    module = importlib.import_module(PRODUCTS[product]["tea"] + ".client")
    ProductClient = module.Client

    class RecordingRamClient(ProductClient):
        """Keeps the raw result of the last call (status, headers, parsed JSON)
        so the tests can check the wire shape, not only what the model kept."""

        last_raw = None

        def call_api(self, params, request, runtime):
            self.last_raw = None
            res = super().call_api(params, request, runtime)
            self.last_raw = res
            return res

    return RecordingRamClient


class TeaCaller(Caller):
    def __init__(self, port: int, creds: Credentials, *, v2: bool = False, product="ram"):
        from alibabacloud_tea_openapi.utils_models import Config

        self.name = ("tea-v2" if v2 else "tea-v3") + ("" if product == "ram" else "-" + product)
        self.product = product
        self.version = PRODUCTS[product]["version"]
        self.port = port
        self.creds = creds
        cfg = Config(
            access_key_id=creds.access_key_id,
            access_key_secret=creds.access_key_secret,
            security_token=creds.security_token,
            endpoint="127.0.0.1:%d" % port,
            protocol="http",
            region_id=config.REGION,
            read_timeout=int(config.CALL_TIMEOUT * 1000),
            connect_timeout=int(config.CALL_TIMEOUT * 1000),
        )
        if v2:
            cfg.signature_algorithm = "v2"
        self.client = _recording_client_class(product)(cfg)

    def _errors(self):
        from alibabacloud_tea_openapi.exceptions import AlibabaCloudException

        return AlibabaCloudException

    def _convert(self, exc):
        data = exc.data if isinstance(getattr(exc, "data", None), dict) else {}
        return ApiError(self.name, data.get("Code", exc.code), data.get("Message", exc.message),
                        exc.status_code, data.get("RequestId"), data)

    def _call(self, action, params):
        from darabonba.runtime import RuntimeOptions

        models = importlib.import_module(PRODUCTS[self.product]["tea"] + ".models")
        method = getattr(self.client, _snake(action) + "_with_options")
        request_cls = getattr(models, action + "Request", None)
        try:
            if request_cls is None:
                assert not params, "%s takes no parameters in the Tea SDK" % action
                typed = method(RuntimeOptions())
            else:
                typed = method(request_cls().from_map(params), RuntimeOptions())
        except self._errors() as exc:
            raise self._convert(exc) from None
        raw = self.client.last_raw
        assert typed.status_code == 200, "%s: HTTP %s" % (action, typed.status_code)
        assert typed.body is not None, "%s: the SDK model got no body" % action
        typed.body.to_map()  # the SDK's own model must round-trip the answer
        return raw["body"]

    def _call_generic(self, action, params, version):
        from alibabacloud_tea_openapi import utils_models
        from alibabacloud_tea_openapi.utils import Utils
        from darabonba.runtime import RuntimeOptions

        p = utils_models.Params(
            action=action, version=version, protocol="HTTPS", pathname="/", method="POST",
            auth_type="AK", style="RPC", req_body_type="formData", body_type="json",
        )
        req = utils_models.OpenApiRequest(query=Utils.query(params))
        try:
            res = self.client.call_api(p, req, RuntimeOptions())
        except self._errors() as exc:
            raise self._convert(exc) from None
        return res["body"]


# --------------------------------------------------------------------------
# aliyun-python-sdk-core (+ aliyun-python-sdk-ram request classes)
# --------------------------------------------------------------------------


class ClassicCaller(Caller):
    name = "classic"

    def __init__(self, port: int, creds: Credentials, product="ram"):
        from aliyunsdkcore.client import AcsClient

        self.product = product
        self.version = PRODUCTS[product]["version"]
        if product != "ram":
            self.name = "classic-" + product
        self.port = port
        self.creds = creds
        self.endpoint = "127.0.0.1:%d" % port
        kwargs = dict(region_id=config.REGION, auto_retry=False,
                      timeout=int(config.CALL_TIMEOUT), connect_timeout=int(config.CALL_TIMEOUT))
        if creds.security_token:
            from aliyunsdkcore.auth.credentials import StsTokenCredential

            self.client = AcsClient(credential=StsTokenCredential(
                creds.access_key_id, creds.access_key_secret, creds.security_token), **kwargs)
        else:
            self.client = AcsClient(creds.access_key_id, creds.access_key_secret, **kwargs)

    def _do(self, req):
        from aliyunsdkcore.acs_exception.exceptions import ServerException

        req.set_endpoint(self.endpoint)
        req.set_protocol_type("http")  # the RAM/STS classes force https
        try:
            raw = self.client.do_action_with_exception(req)
        except ServerException as exc:
            raise ApiError(self.name, exc.get_error_code(), exc.get_error_msg(),
                           exc.get_http_status(), exc.get_request_id()) from None
        return json.loads(raw.decode("utf-8"))

    def request_for(self, action, params):
        module = importlib.import_module("%s.%sRequest" % (PRODUCTS[self.product]["classic"],
                                                            action))
        req = getattr(module, action + "Request")()
        for key, value in params.items():
            setter = getattr(req, "set_" + key, None)
            if setter is not None:
                setter(_str(value) if isinstance(value, bool) else value)
            else:
                req.add_query_param(key, _str(value))
        return req

    def _call(self, action, params):
        return self._do(self.request_for(action, params))

    def _call_generic(self, action, params, version):
        from aliyunsdkcore.request import CommonRequest

        req = CommonRequest(domain=self.endpoint, version=version, action_name=action)
        req.set_method("POST")
        for key, value in params.items():
            req.add_query_param(key, _str(value))
        return self._do(req)


# --------------------------------------------------------------------------
# @alicloud/pop-core (Node.js) through node/popcore.js
# --------------------------------------------------------------------------


def node_binary():
    return os.environ.get("RAMPART_E2E_NODE", "node")


def run_node(script: str, commands):
    """Runs a node/ script with a JSON command (or a list) on stdin."""
    proc = subprocess.run(
        [node_binary(), script],
        input=json.dumps(commands).encode("utf-8"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=NODE_DIR,
        timeout=config.CALL_TIMEOUT * (len(commands) if isinstance(commands, list) else 1) + 30,
        env=os.environ.copy(),
    )
    if proc.returncode != 0:
        raise AssertionError("%s failed (exit %s):\n%s\n%s" % (
            script, proc.returncode, proc.stdout.decode(errors="replace"),
            proc.stderr.decode(errors="replace")))
    return json.loads(proc.stdout.decode("utf-8"))


class PopCoreCaller(Caller):
    def __init__(self, port: int, creds: Credentials, *, method: str = "POST", product="ram"):
        assert method in ("GET", "POST")
        self.name = "pop-core-" + method + ("" if product == "ram" else "-" + product)
        self.version = PRODUCTS[product]["version"]
        self.port = port
        self.creds = creds
        self.method = method

    def command(self, action, params, version=None):
        cmd = {
            "endpoint": "http://127.0.0.1:%d" % self.port,
            "accessKeyId": self.creds.access_key_id,
            "accessKeySecret": self.creds.access_key_secret,
            "apiVersion": version or self.version,
            "action": action,
            "params": {k: _str(v) for k, v in params.items()},
            "method": self.method,
        }
        if self.creds.security_token:
            cmd["securityToken"] = self.creds.security_token
        return cmd

    def result(self, out):
        if out.get("ok"):
            assert out.get("status") == 200, "pop-core got HTTP %s" % out.get("status")
            return out["body"]
        if out.get("code") is None:
            raise AssertionError("pop-core failed without an API error: %s" % json.dumps(out))
        data = out.get("data") or {}
        raise ApiError(self.name, out["code"], data.get("Message"), out.get("status"),
                       data.get("RequestId"), data)

    def _call(self, action, params):
        return self.result(run_node(POPCORE_RUNNER, self.command(action, params)))

    def _call_generic(self, action, params, version):
        return self.result(run_node(POPCORE_RUNNER, self.command(action, params, version)))

    def call_many(self, calls):
        """[(action, params), ...] in one node process; returns results or ApiError objects."""
        outs = run_node(POPCORE_RUNNER, [self.command(a, p) for a, p in calls])
        results = []
        for (action, _), out in zip(calls, outs):
            try:
                body = self.result(out)
                shapes.assert_success_body(action, body, self.version)
                results.append(body)
            except ApiError as err:
                results.append(err)
        return results


# --------------------------------------------------------------------------


KINDS = ("tea_v3", "tea_v2", "classic", "popcore_post", "popcore_get")


def make(kind: str, port: int, creds: Credentials, product: str = "ram") -> Caller:
    if kind == "tea_v3":
        return TeaCaller(port, creds, product=product)
    if kind == "tea_v2":
        return TeaCaller(port, creds, v2=True, product=product)
    if kind == "classic":
        return ClassicCaller(port, creds, product=product)
    if kind == "popcore_post":
        return PopCoreCaller(port, creds, method="POST", product=product)
    if kind == "popcore_get":
        return PopCoreCaller(port, creds, method="GET", product=product)
    raise ValueError(kind)


class Clients:
    """All SDK clients of one product (RAM unless `product="sts"`) for one
    set of credentials: clients.tea_v3, .tea_v2, .classic, .popcore_post,
    .popcore_get."""

    def __init__(self, port: int, creds: Credentials, product: str = "ram"):
        assert product in PRODUCTS, product
        self.port = port
        self.creds = creds
        self.product = product
        self._cache = {}

    def __getattr__(self, kind):
        if kind not in KINDS:
            raise AttributeError(kind)
        if kind not in self._cache:
            self._cache[kind] = make(kind, self.port, self.creds, self.product)
        return self._cache[kind]

    def all(self):
        return [getattr(self, k) for k in KINDS]

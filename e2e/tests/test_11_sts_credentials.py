"""The credential providers of `alibabacloud-credentials` against rampart:
the `ram_role_arn` provider with `sts_endpoint='http://127.0.0.1:PORT'`
(protocol §9.3), and `ALIBABA_CLOUD_CREDENTIALS_URI` (§9.4) pointing at a
binding made with `rampart credentials-uri create`."""

import json
import os
import subprocess
import sys
import tempfile

import pytest

from rampart_e2e import config, docs, netguard
from rampart_e2e.errors import expect_error
from rampart_e2e.sdk import E2E_DIR, Credentials
from rampart_e2e.sts_world import Party, check_session_identity


@pytest.fixture(scope="module")
def lender(server, new_account, clients_for, sts_clients_for, unique):
    a = Party(new_account(unique("uri-owner")), clients_for, sts_clients_for)
    b = Party(new_account(unique("uri-user")), clients_for, sts_clients_for)
    role = a.role("builder", docs.trust(b.arn()), "AliyunRAMReadOnlyAccess")
    return a, b, role


def test_ram_role_arn_provider_with_a_local_sts_endpoint(server, lender):
    from alibabacloud_credentials.client import Client as CredentialClient
    from alibabacloud_credentials.models import Config as CredentialConfig

    a, b, role = lender
    user = b.user("provider-user", "AliyunSTSAssumeRoleAccess")
    client = CredentialClient(CredentialConfig(
        type="ram_role_arn",
        access_key_id=user.access_key_id,
        access_key_secret=user.access_key_secret,
        role_arn=a.role_arn("builder"),
        role_session_name="provider-session",
        sts_endpoint="http://127.0.0.1:%d" % server.port,
    ))
    got = client.get_credential()
    assert got.access_key_id.startswith("STS.") and got.security_token, got
    creds = Credentials(got.access_key_id, got.access_key_secret,
                        security_token=got.security_token)
    for caller in b.sts_clients(creds).all():
        check_session_identity(caller.call("GetCallerIdentity"), a.id, "builder",
                               "provider-session", role["RoleId"])
    a.clients(creds).tea_v3.call("GetRole", {"RoleName": "builder"})

    # A user without sts:AssumeRole gets the provider's error, carrying ours.
    plain = b.user("provider-plain")
    refused = CredentialClient(CredentialConfig(
        type="ram_role_arn", access_key_id=plain.access_key_id,
        access_key_secret=plain.access_key_secret, role_arn=a.role_arn("builder"),
        role_session_name="refused", sts_endpoint="http://127.0.0.1:%d" % server.port))
    with pytest.raises(Exception) as caught:
        refused.get_credential()
    assert "NoPermission" in str(caught.value), caught.value


# Runs the library's default credential chain in a process of its own: it
# reads ALIBABA_CLOUD_CREDENTIALS_URI when it is imported.
DEFAULT_CHAIN = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from rampart_e2e import netguard
netguard.install()
from alibabacloud_credentials.client import Client
try:
    got = Client().get_credential()
except Exception as err:
    print(json.dumps({"error": str(err)}))
    sys.exit(0)
print(json.dumps({"AccessKeyId": got.access_key_id, "AccessKeySecret": got.access_key_secret,
                  "SecurityToken": got.security_token,
                  "ProviderName": getattr(got, "provider_name", None)}))
"""


def default_chain(uri):
    with tempfile.TemporaryDirectory() as home:
        env = netguard.scrub_environment(os.environ.copy())
        env["HOME"] = home  # no ~/.alibabacloud or ~/.aliyun files
        env["ALIBABA_CLOUD_CREDENTIALS_URI"] = uri
        proc = subprocess.run([sys.executable, "-c", DEFAULT_CHAIN, E2E_DIR], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=config.CALL_TIMEOUT + 30)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return json.loads(proc.stdout.decode("utf-8").strip().splitlines()[-1])


def test_credentials_uri_with_the_default_chain(server, lender):
    a, b, role = lender
    made = server.create_credentials_uri(a.id, "builder")
    uri = made["Uri"]
    binding = made["BindingId"]
    assert uri.startswith("http://127.0.0.1:%d%s%s/" % (server.port, config.CREDENTIALS_URI_PATH,
                                                        binding)), made
    assert made["RoleName"] == "builder" and made["SessionName"] == "uri-" + binding, made

    got = default_chain(uri)
    assert "error" not in got, got
    assert got["ProviderName"] in (None, "credential_uri", "default/credential_uri"), got
    creds = Credentials(got["AccessKeyId"], got["AccessKeySecret"],
                        security_token=got["SecurityToken"])
    session = "uri-" + binding
    for caller in a.sts_clients(creds).all():
        check_session_identity(caller.call("GetCallerIdentity"), a.id, "builder", session,
                               role["RoleId"])
    a.clients(creds).popcore_post.call("ListRoles")
    last = expect_error(a.clients(creds).tea_v3.call, "CreateUser", {"UserName": "nope"},
                        code="NoPermission", status=403)

    # The audit log names the binding (never the secret).
    secret = uri.rsplit("/", 1)[1]
    rows = server.audit_rows(a.id, wait_for=[last.request_id])
    issued = [r for r in rows if r["deciding_statement"] == "CredentialsUri:" + binding]
    assert issued and issued[-1]["decision"] == "Allow", rows[-5:]
    assert issued[-1]["principal_arn"] == "%s@%s.credentials-uri.rampart" % (a.id, binding)
    assert all(secret not in json.dumps(r) for r in rows)

    # A wrong secret, and then a removed binding, hand out nothing.
    wrong = default_chain(uri[:-1] + ("A" if uri[-1] != "A" else "B"))
    assert "EntityNotExist.CredentialsUri" in wrong.get("error", ""), wrong
    server.delete_credentials_uri(a.id, binding)
    gone = default_chain(uri)
    assert "EntityNotExist.CredentialsUri" in gone.get("error", ""), gone
    # The sessions it handed out are the role's: revocation ends them.
    a.ram.tea_v3.call_generic("RevokeRoleSessions", {"RoleName": "builder"})
    expect_error(a.sts_clients(creds).tea_v3.call, "GetCallerIdentity",
                 code="InvalidSecurityToken.Expired", status=400)

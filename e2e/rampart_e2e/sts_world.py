"""The accounts of the STS scenarios (SCENARIOS.md S3, seed 003) and small
helpers around AssumeRole: every call goes through the official SDKs."""

from __future__ import annotations

import datetime as _dt
import json

from . import docs, shapes
from .sdk import Clients, Credentials


class Party:
    """One account: its root key, RAM clients, and the users and roles made
    in it by the tests."""

    def __init__(self, root: Credentials, clients_for, sts_clients_for):
        self.root = root
        self.id = root.account_id
        self.ram = clients_for(root)
        self.sts = sts_clients_for(root)
        self._clients_for = clients_for
        self._sts_clients_for = sts_clients_for

    def arn(self) -> str:
        return "acs:ram::%s:root" % self.id

    def user(self, name: str, *system_policies: str) -> Credentials:
        """A RAM user with the given system policies and one AccessKey."""
        self.ram.tea_v3.call("CreateUser", {"UserName": name})
        for policy in system_policies:
            self.ram.tea_v3.call("AttachPolicyToUser", {
                "PolicyType": "System", "PolicyName": policy, "UserName": name})
        key = self.ram.tea_v3.call("CreateAccessKey", {"UserName": name})["AccessKey"]
        return Credentials(key["AccessKeyId"], key["AccessKeySecret"], self.id)

    def delete_user(self, name: str, creds: Credentials, *system_policies: str):
        """Deletes a user made by `user` (its key and policies first, as RAM
        requires)."""
        self.ram.tea_v3.call("DeleteAccessKey", {"UserName": name,
                                                 "UserAccessKeyId": creds.access_key_id})
        for policy in system_policies:
            self.ram.tea_v3.call("DetachPolicyFromUser", {
                "PolicyType": "System", "PolicyName": policy, "UserName": name})
        self.ram.tea_v3.call("DeleteUser", {"UserName": name})

    def role(self, name: str, trust: str, *system_policies: str, max_session=None) -> dict:
        params = {"RoleName": name, "AssumeRolePolicyDocument": trust}
        if max_session:
            params["MaxSessionDuration"] = max_session
        role = self.ram.tea_v3.call("CreateRole", params)["Role"]
        for policy in system_policies:
            self.attach(name, policy)
        return role

    def attach(self, role: str, policy: str):
        self.ram.tea_v3.call("AttachPolicyToRole", {
            "PolicyType": "System", "PolicyName": policy, "RoleName": role})

    def detach(self, role: str, policy: str):
        self.ram.tea_v3.call("DetachPolicyFromRole", {
            "PolicyType": "System", "PolicyName": policy, "RoleName": role})

    def role_arn(self, name: str) -> str:
        return "acs:ram::%s:role/%s" % (self.id, name.lower())

    def clients(self, creds: Credentials) -> Clients:
        return self._clients_for(creds)

    def sts_clients(self, creds: Credentials) -> Clients:
        return self._sts_clients_for(creds)


def session_credentials(body: dict) -> Credentials:
    """The temporary credentials of an AssumeRole answer."""
    c = body["Credentials"]
    return Credentials(c["AccessKeyId"], c["AccessKeySecret"], security_token=c["SecurityToken"])


def assume(caller, role_arn: str, session: str, **extra) -> dict:
    """AssumeRole through one STS client; checks the answer's shape."""
    params = {"RoleArn": role_arn, "RoleSessionName": session}
    params.update(extra)
    body = caller.call("AssumeRole", params)
    check_assume_role_body(body, role_arn, session, extra.get("DurationSeconds", 3600))
    return body


def check_assume_role_body(body: dict, role_arn: str, session: str, duration: int):
    """The answer of protocol §6.1/§6.3, exactly."""
    shapes.assert_keys(body, ["RequestId", "AssumedRoleUser", "Credentials"], "AssumeRole")
    assert set(body) <= {"RequestId", "AssumedRoleUser", "Credentials", "SourceIdentity"}, body
    user = body["AssumedRoleUser"]
    assert set(user) == {"Arn", "AssumedRoleId"}, user
    assert user["Arn"] == "%s/%s" % (role_arn, session), user
    role_id, _, name = user["AssumedRoleId"].partition(":")
    assert role_id.isdigit() and name == session, user
    creds = body["Credentials"]
    assert set(creds) == {"AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration"}, creds
    assert creds["AccessKeyId"].startswith("STS."), creds
    assert len(creds["AccessKeySecret"]) >= 30 and creds["SecurityToken"], creds
    expires = shapes.assert_date(creds["Expiration"])
    left = (expires - _dt.datetime.now(_dt.timezone.utc)).total_seconds()
    assert duration - 120 < left <= duration + 5, (duration, left, creds["Expiration"])


def check_session_identity(body: dict, account: str, role: str, session: str, role_id=None):
    """GetCallerIdentity of temporary credentials (protocol §6.3)."""
    assert body["IdentityType"] == "AssumedRoleUser", body
    assert body["AccountId"] == account, body
    assert body["Arn"] == "acs:ram::%s:assumed-role/%s/%s" % (account, role.lower(), session), body
    assert body["PrincipalId"] == "%s:%s" % (body["RoleId"], session), body
    assert "UserId" not in body, body
    if role_id is not None:
        assert body["RoleId"] == role_id, body


def trust_roles(*role_arns: str) -> str:
    """A trust policy naming role ARNs (sessions of those roles may assume)."""
    return docs.trust(*role_arns)


def session_policy(*statements) -> str:
    return json.dumps({"Version": "1", "Statement": list(statements)})

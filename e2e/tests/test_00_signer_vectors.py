"""The harness's own signer reproduces the published and captured vectors
(protocol notes §2.4 and §3.4). Runs without a server: if these fail, every
hand-signed request in the other tests is suspect, not the server."""

import hashlib

from rampart_e2e import signer

POLICY = (
    '{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:Get*",'
    '"Resource":"acs:oss:*:*:my bucket/+x"}]}'
)


def test_v1_official_describe_regions():
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "Format": "XML",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z",
        "Version": "2014-05-26",
    }
    assert signer.v1_signature("testsecret", "GET", params) == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_v1_official_rpc_mechanism_page():
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeDedicatedHosts",
        "Format": "JSON",
        "RegionId": "cn-beijing",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "edb2b34af0af9a6d14deaf7c1a5315eb",
        "SignatureVersion": "1.0",
        "Timestamp": "2023-03-13T08:34:30Z",
        "Version": "2014-05-26",
    }
    assert signer.v1_signature("testsecret", "GET", params) == "9NaGiOspFP5UPcwX8Iwt2YJXXuk="


def _assume_role_params():
    return {
        "Action": "AssumeRole",
        "Version": "2015-04-01",
        "RegionId": "cn-hangzhou",
        "Format": "JSON",
        "RoleArn": "acs:ram::1234567890123456:role/test-role",
        "RoleSessionName": "alice~session",
        "DurationSeconds": "3600",
        "Policy": POLICY,
        "AccessKeyId": "testid",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureType": "",
        "SignatureVersion": "1.0",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "Timestamp": "2024-01-01T12:00:00Z",
    }


def test_v1_assume_role_as_python_core_sends_it():
    params = _assume_role_params()
    s2s = signer.v1_string_to_sign("GET", params)
    assert s2s.startswith(
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DAssumeRole%26DurationSeconds%3D3600"
        "%26Format%3DJSON%26Policy%3D%257B%2522Version"
    )
    assert signer.v1_signature("testsecret", "GET", params) == "k/qzlBazG1NeY4Yy/NGdqi0jYA4="
    del params["SignatureType"]
    assert signer.v1_signature("testsecret", "GET", params) == "fLOYkRNYAc+M4noGfd9BOepML+s="


def test_v1_pop_core_post_utf8_and_token():
    params = {
        "AccessKeyId": "testid",
        "Action": "CreateRole",
        "AssumeRolePolicyDocument": "{}",
        "Description": "测试 role*~!'()",
        "Format": "JSON",
        "RoleName": "r1",
        "SecurityToken": "CAES+tok/en=",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "nonce-0002",
        "SignatureVersion": "1.0",
        "Timestamp": "2024-01-01T12:00:00Z",
        "Version": "2015-05-01",
    }
    assert signer.v1_signature("testsecret", "POST", params) == "xHCo+T81jJ8rtn2DuQdRxS/v0vg="


def test_pct_matches_the_sdks():
    assert signer.pct("a b*~/+!'()") == "a%20b%2A~%2F%2B%21%27%28%29"
    assert signer.pct("测") == "%E6%B5%8B"


def test_v3_official_run_instances():
    headers = {
        "host": "ecs.cn-shanghai.aliyuncs.com",
        "x-acs-action": "RunInstances",
        "x-acs-content-sha256": signer.EMPTY_SHA256,
        "x-acs-date": "2023-10-26T10:22:32Z",
        "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
        "x-acs-version": "2014-05-26",
    }
    query = {
        "ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
        "RegionId": "cn-shanghai",
    }
    creq, _ = signer.v3_canonical_request("POST", "/", query, headers, headers.keys())
    assert (
        hashlib.sha256(creq.encode()).hexdigest()
        == "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
    )
    auth = signer.v3_authorization(
        "YourAccessKeyId", "YourAccessKeySecret", "POST", "/", query, headers, headers.keys()
    )
    assert auth.endswith(
        "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    )


def test_v3_assume_role_as_tea_signs_it():
    headers = {
        "host": "127.0.0.1:8080",
        "x-acs-action": "AssumeRole",
        "x-acs-version": "2015-04-01",
        "x-acs-date": "2024-01-01T12:00:00Z",
        "x-acs-signature-nonce": "3ee8c1b883d344afa94f4e0ad82fd6cf",
        "accept": "application/json",
        "x-acs-content-sha256": signer.EMPTY_SHA256,
    }
    query = {
        "RoleArn": "acs:ram::1234567890123456:role/test-role",
        "RoleSessionName": "alice~session",
        "DurationSeconds": "3600",
        "Policy": POLICY,
    }
    creq, _ = signer.v3_canonical_request("POST", "/", query, headers, headers.keys())
    assert signer.v3_string_to_sign(creq) == (
        "ACS3-HMAC-SHA256\nd67f81b45e8bca7eb5a36c1258982e09d49cd5befc6d6965b0e4fd82d4f4e9f5"
    )
    assert signer.v3_authorization(
        "testid", "testsecret", "POST", "/", query, headers, headers.keys()
    ) == (
        "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=accept;host;x-acs-action;"
        "x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
        "Signature=35c3aa290271b80773e0f24fc0fe050f07d9a36bea28f8694c5ff0ba043b1d1a"
    )

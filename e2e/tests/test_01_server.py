"""The server starts, answers /healthz, hands out a working root key, and
every official SDK flavour can sign a request it accepts."""

import re

import pytest

from rampart_e2e import sdk, shapes


def test_healthz_answers_200(server):
    assert server.healthz_status() == 200


def test_first_account_file_has_a_root_key(root):
    assert re.fullmatch(r"\d{16}", root.account_id), (
        "AccountId %r is not a 16-digit string" % root.account_id)
    shapes.assert_id(root.access_key_id)
    assert len(root.access_key_secret) >= 16, "root AccessKeySecret is implausibly short"
    assert root.access_key_id != root.access_key_secret


@pytest.mark.parametrize("kind", sdk.KINDS)
def test_every_sdk_reaches_the_server_and_is_accepted(clients, kind):
    """V3 (Tea), V1 via Tea v2 mode, V1 via aliyun-python-sdk-core (with its
    empty SignatureType and RegionId), V1 via pop-core as a form body (POST)
    and in the query (GET): all must verify and answer ListUsers."""
    caller = getattr(clients, kind)
    body = caller.call("ListUsers", {"MaxItems": 10})
    assert isinstance(body["IsTruncated"], bool)
    shapes.items(body, "Users", "User")


def test_root_key_is_refused_with_a_wrong_secret(clients_for, root):
    """A baseline for the test above: the same call with a broken secret fails."""
    from rampart_e2e.errors import expect_error

    bad = clients_for(root.with_wrong_secret())
    expect_error(bad.tea_v2.call, "ListUsers", code="SignatureDoesNotMatch", status=400)

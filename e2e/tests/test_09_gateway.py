"""The RPC gateway: signatures (wrong secret, tampering), replayed nonces,
stale timestamps, unknown actions, bad versions, oversized bodies. The
requests that no SDK sends on purpose are hand-signed with rampart_e2e.signer
(checked against the published vectors in test_00_signer_vectors.py)."""

import datetime as dt

import pytest

from rampart_e2e import raw, shapes, signer
from rampart_e2e.errors import expect_error
from rampart_e2e.state import unchanged

MISMATCH_PREFIX = "Specified signature is not matched with our calculation. server string to sign is:"


def ts(minutes):
    return signer.utc_timestamp(dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes))


def user_exists(clients, name):
    names = [u["UserName"] for u in shapes.items(
        clients.tea_v3.call("ListUsers", {"MaxItems": 1000}), "Users", "User")]
    return name in names


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_hand_signed_v1_baseline(server, root, clients, unique, method):
    """Our own V1 requests are accepted (query for GET, form body for POST):
    the refusals below are about what they test, not about the signer."""
    name = unique("raw-" + method.lower())
    resp = raw.v1_call(server.port, root, "CreateUser", {"UserName": name}, method=method)
    assert resp.status == 200, resp.body
    shapes.assert_success_body("CreateUser", resp.json)
    assert resp.json["User"]["UserName"] == name
    assert user_exists(clients, name)


def test_hand_signed_v3_baseline(server, root, clients, unique):
    name = unique("raw-v3")
    resp = raw.v3_send(server.port, root, "CreateUser", {"UserName": name})
    assert resp.status == 200, resp.body
    shapes.assert_success_body("CreateUser", resp.json)
    assert user_exists(clients, name)


def test_wrong_secret(server, root, clients, clients_for, unique):
    bad = clients_for(root.with_wrong_secret())
    name = unique("never")
    with unchanged(clients.tea_v3):
        # aliyun-python-sdk-core compares the text after "server string to
        # sign is:" with its own string-to-sign and, when equal, reports
        # InvalidAccessKeySecret: that proves the message format and that the
        # server signed exactly what the SDK signed (SignatureType= included).
        expect_error(bad.classic.call, "CreateUser", {"UserName": name},
                     code="InvalidAccessKeySecret", status=400)
        expect_error(bad.popcore_post.call, "CreateUser", {"UserName": name},
                     code="SignatureDoesNotMatch", status=400)
        expect_error(bad.tea_v2.call, "CreateUser", {"UserName": name},
                     code="SignatureDoesNotMatch", status=400)
        # V3: Alibaba's code for a V3 mismatch is not confirmed (protocol §3.5).
        expect_error(bad.tea_v3.call, "CreateUser", {"UserName": name},
                     code={"SignatureDoesNotMatch", "IncompleteSignature"}, status=400)

        params = raw.v1_params(root, "CreateUser", {"UserName": name}, method="POST",
                               secret=root.with_wrong_secret().access_key_secret)
        body = raw.assert_error_response(raw.v1_send(server.port, params, method="POST"),
                                         "SignatureDoesNotMatch", 400)
        expected = MISMATCH_PREFIX + signer.v1_string_to_sign("POST", params)
        assert body["Message"] == expected, body["Message"]
        assert root.access_key_secret not in body["Message"]


def test_tampered_parameter(server, root, clients, unique):
    name = unique("tamper")
    params = raw.v1_params(root, "CreateUser", {"UserName": name}, method="POST")
    params["UserName"] = name + "-evil"
    with unchanged(clients.tea_v3):
        raw.assert_error_response(raw.v1_send(server.port, params, method="POST"),
                                  "SignatureDoesNotMatch", 400)
    # The method is signed too: a POST signature replayed as GET fails.
    params = raw.v1_params(root, "CreateUser", {"UserName": name}, method="POST")
    with unchanged(clients.tea_v3):
        raw.assert_error_response(raw.v1_send(server.port, params, method="GET"),
                                  "SignatureDoesNotMatch", 400)


def test_replayed_nonce_v1(server, root, clients, unique):
    name = unique("replay")
    params = raw.v1_params(root, "CreateUser", {"UserName": name}, method="POST")
    first = raw.v1_send(server.port, params, method="POST")
    assert first.status == 200, first.body
    with unchanged(clients.tea_v3):
        # Byte-for-byte the same request: refused before it reaches CreateUser
        # (otherwise it would say EntityAlreadyExists.User).
        raw.assert_error_response(raw.v1_send(server.port, params, method="POST"),
                                  "SignatureNonceUsed", 400)
        # Same nonce, different request, valid signature: refused too.
        other = raw.v1_params(root, "CreateUser", {"UserName": name + "-2"}, method="POST",
                              nonce=params["SignatureNonce"])
        raw.assert_error_response(raw.v1_send(server.port, other, method="POST"),
                                  "SignatureNonceUsed", 400)
    assert not user_exists(clients, name + "-2")


def test_replayed_nonce_v3(server, root, clients, unique):
    name = unique("replay-v3")
    nonce = signer.new_nonce()
    date = signer.utc_timestamp()
    first = raw.v3_send(server.port, root, "CreateUser", {"UserName": name}, nonce=nonce,
                        date=date)
    assert first.status == 200, first.body
    with unchanged(clients.tea_v3):
        raw.assert_error_response(
            raw.v3_send(server.port, root, "CreateUser", {"UserName": name}, nonce=nonce,
                        date=date),
            "SignatureNonceUsed", 400)


@pytest.mark.parametrize("minutes", [-20, 20, -60 * 24])
def test_stale_or_future_timestamp_v1(server, root, clients, unique, minutes):
    name = unique("stale")
    with unchanged(clients.tea_v3):
        raw.assert_error_response(
            raw.v1_call(server.port, root, "CreateUser", {"UserName": name},
                        timestamp=ts(minutes)),
            "InvalidTimeStamp.Expired", 400)


def test_timestamp_within_the_window_is_accepted(server, root, clients, unique):
    name = unique("skewed")
    resp = raw.v1_call(server.port, root, "CreateUser", {"UserName": name}, timestamp=ts(-10))
    assert resp.status == 200, resp.body
    assert user_exists(clients, name)


def test_stale_date_v3(server, root, clients, unique):
    with unchanged(clients.tea_v3):
        raw.assert_error_response(
            raw.v3_send(server.port, root, "CreateUser", {"UserName": unique("stale-v3")},
                        date=ts(-20)),
            "InvalidTimeStamp.Expired", 400)


def test_unknown_action(server, root, clients):
    with unchanged(clients.tea_v3):
        raw.assert_error_response(raw.v1_call(server.port, root, "NoSuchAction"),
                                  "InvalidAction.NotFound", 404)
        raw.assert_error_response(raw.v3_send(server.port, root, "DeleteEverything"),
                                  "InvalidAction.NotFound", 404)
        expect_error(clients.classic.call_generic, "NoSuchAction",
                     code="InvalidAction.NotFound", status=404)
        expect_error(clients.tea_v3.call_generic, "NoSuchAction",
                     code="InvalidAction.NotFound", status=404)
        expect_error(clients.popcore_post.call_generic, "NoSuchAction",
                     code="InvalidAction.NotFound", status=404)


def test_bad_version(server, root, clients, unique):
    name = unique("badver")
    with unchanged(clients.tea_v3):
        raw.assert_error_response(
            raw.v1_call(server.port, root, "CreateUser", {"UserName": name},
                        version="2099-12-31"),
            "InvalidVersion", 400)
        raw.assert_error_response(
            raw.v3_send(server.port, root, "CreateUser", {"UserName": name},
                        version="not-a-version"),
            "InvalidVersion", 400)
        expect_error(clients.tea_v2.call_generic, "CreateUser", {"UserName": name},
                     version="2014-05-26", code="InvalidVersion", status=400)
        expect_error(clients.popcore_get.call_generic, "ListUsers", version="1999-01-01",
                     code="InvalidVersion", status=400)


def test_unsigned_request_is_refused(server, clients, unique):
    name = unique("anon")
    params = {"Action": "CreateUser", "Version": "2015-05-01", "Format": "JSON",
              "UserName": name, "Timestamp": signer.utc_timestamp(),
              "SignatureNonce": signer.new_nonce()}
    with unchanged(clients.tea_v3):
        resp = raw.v1_send(server.port, params, method="POST")
        assert 400 <= resp.status < 500, (resp.status, resp.body)
        body = resp.json
        assert isinstance(body, dict) and body.get("Code") and body.get("RequestId"), resp.body


def test_oversized_body_is_refused_clearly(server, root, clients):
    headers = {"content-type": "application/x-www-form-urlencoded",
               "x-acs-action": "CreateUser", "x-acs-version": "2015-05-01"}
    with unchanged(clients.tea_v3):
        status, hdrs, body = raw.send_oversized(server.port, headers, 16 * 1024 * 1024)
        assert status in (400, 413), (status, body[:500])
        resp = raw.RawResponse(status, hdrs, body)
        err = resp.json
        assert isinstance(err, dict), "oversized body answer is not JSON: %r" % body[:500]
        for key in raw.ERROR_BODY_KEYS:
            assert isinstance(err.get(key), str), "error body lacks %s: %s" % (key, err)
        assert err["Code"] and err["Message"].strip(), err
    # The server survives it and keeps serving.
    assert server.healthz_status() == 200
    clients.tea_v3.call("ListUsers", {"MaxItems": 1})

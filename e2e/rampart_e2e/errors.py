"""One error type for every client (SDKs and the raw HTTP helper), and the
assertion helpers the tests use to insist on exact codes and statuses."""

from __future__ import annotations

import json


class ApiError(Exception):
    def __init__(self, client, code, message, status, request_id, body=None):
        self.client = client
        self.code = code
        self.message = message
        self.status = status
        self.request_id = request_id
        self.body = body
        super().__init__(
            "[%s] HTTP %s %s: %s (RequestId %s)" % (client, status, code, message, request_id)
        )


def expect_error(fn, *args, code, status, message_contains=None, **kwargs) -> ApiError:
    """Calls fn(*args, **kwargs); it must fail with exactly `code` (a string, or
    a set of acceptable strings where the protocol notes leave it open) and
    HTTP `status`. Returns the error for further checks."""
    try:
        result = fn(*args, **kwargs)
    except ApiError as err:
        codes = {code} if isinstance(code, str) else set(code)
        assert err.code in codes, "expected %s, got %s" % (sorted(codes), err)
        assert err.status == status, "expected HTTP %s, got %s" % (status, err)
        assert isinstance(err.message, str) and err.message.strip(), "empty Message: %s" % err
        assert isinstance(err.request_id, str) and err.request_id.strip() and (
            err.request_id != "None"
        ), "no RequestId: %s" % err
        if message_contains is not None:
            assert message_contains in err.message, err
        return err
    raise AssertionError(
        "expected %s (HTTP %s) but the call succeeded: %s"
        % (code, status, json.dumps(result, ensure_ascii=False)[:2000])
    )

"""Exact response-shape checks against the official SDK models.

`response_models.json` is generated from the Tea SDK model classes
(shared/protocol/data/*.jsonl): for every action, the JSON fields the SDK
maps and their types. A response may leave optional fields out, but it may
not carry a field the model does not know, nor a field of the wrong type
(an ID sent as a number, a boolean sent as a string, a list not wrapped the
way the SDK expects)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import re

from . import config

_MODELS_PATH = os.path.join(os.path.dirname(__file__), "response_models.json")
with open(_MODELS_PATH, encoding="utf-8") as _f:
    MODELS = json.load(_f)

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
SUCCESS_CODES = {200, "200", "OK", "Success", "success"}


def _type_ok(expected: str, value) -> bool:
    if expected == "str":
        return isinstance(value, str)
    if expected == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "bool":
        return isinstance(value, bool)
    if expected in ("float", "number"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected in ("any", "dict", "object"):
        return True
    raise AssertionError("unknown model type %r" % expected)


def check_against_model(model, value, path="$"):
    """Recursively check `value` against a model fragment; returns a list of problems."""
    problems = []
    if isinstance(model, dict):
        if not isinstance(value, dict):
            return ["%s: expected an object, got %s" % (path, type(value).__name__)]
        for key, sub in value.items():
            if key not in model:
                problems.append("%s.%s: field not in the SDK model" % (path, key))
                continue
            problems.extend(check_against_model(model[key], sub, path + "." + key))
    elif isinstance(model, list):
        if not isinstance(value, list):
            return ["%s: expected an array, got %s" % (path, type(value).__name__)]
        for i, item in enumerate(value):
            problems.extend(check_against_model(model[0], item, "%s[%d]" % (path, i)))
    else:
        if value is None:
            problems.append("%s: null (leave the field out instead)" % path)
        elif not _type_ok(model, value):
            problems.append(
                "%s: expected %s, got %s %r" % (path, model, type(value).__name__, value)
            )
    return problems


def assert_model_shape(action: str, body: dict, version: str = config.RAM_VERSION):
    model = MODELS[version][action]
    problems = check_against_model(model, body)
    assert not problems, "%s response does not match the SDK model:\n  %s\nbody: %s" % (
        action,
        "\n  ".join(problems),
        json.dumps(body, ensure_ascii=False),
    )


def assert_success_body(action: str, body, version: str = config.RAM_VERSION):
    assert isinstance(body, dict), "%s: response body is not a JSON object: %r" % (action, body)
    rid = body.get("RequestId")
    assert isinstance(rid, str) and rid, "%s: no RequestId in %r" % (action, body)
    # pop-core throws on any other Code, even with HTTP 200.
    assert "Code" not in body or body["Code"] in SUCCESS_CODES, body
    if action in MODELS.get(version, {}):
        assert_model_shape(action, body, version)


def assert_date(value, *, recent: bool = False):
    assert isinstance(value, str) and DATE_RE.match(value), (
        "date %r is not YYYY-MM-DDTHH:MM:SSZ" % (value,)
    )
    when = _dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.timezone.utc)
    if recent:
        now = _dt.datetime.now(_dt.timezone.utc)
        assert abs((now - when).total_seconds()) < 600, (
            "date %s is not within 10 minutes of now (%s)" % (value, now.isoformat())
        )
    return when


def assert_id(value):
    assert isinstance(value, str) and value.strip(), "id %r is not a non-empty string" % (value,)


def assert_keys(obj: dict, required, where: str = ""):
    missing = [k for k in required if k not in obj]
    assert not missing, "%s missing %s in %s" % (where or "object", missing, json.dumps(obj))


def items(body: dict, plural: str, singular: str) -> list:
    """Unwraps RAM's `Plural{Singular:[...]}` list wrapper, insisting on it."""
    assert plural in body, "no %s wrapper in %s" % (plural, json.dumps(body))
    wrapper = body[plural]
    assert isinstance(wrapper, dict) and isinstance(wrapper.get(singular), list), (
        "%s must be {%r: [...]}, got %s" % (plural, singular, json.dumps(wrapper))
    )
    return wrapper[singular]

"""Snapshots of an account's RAM state, so every bad-input test can show that
nothing changed."""

from __future__ import annotations

import contextlib
import json

from . import shapes


def list_all(caller, action, plural, singular, params=None, max_items=100):
    """Every item of a paginated RAM list (follows Marker until IsTruncated is false)."""
    out = []
    marker = None
    for _ in range(1000):
        p = dict(params or {})
        p["MaxItems"] = max_items
        if marker:
            p["Marker"] = marker
        body = caller.call(action, p)
        out.extend(shapes.items(body, plural, singular))
        if not body.get("IsTruncated"):
            return out
        marker = body.get("Marker")
        assert marker, "IsTruncated without a Marker: %s" % json.dumps(body)
    raise AssertionError("%s: more than 1000 pages" % action)


def snapshot(caller) -> dict:
    users = list_all(caller, "ListUsers", "Users", "User")
    roles = list_all(caller, "ListRoles", "Roles", "Role")
    groups = list_all(caller, "ListGroups", "Groups", "Group")
    policies = list_all(caller, "ListPolicies", "Policies", "Policy", {"PolicyType": "Custom"})
    return {
        "users": sorted(json.dumps(u, sort_keys=True) for u in users),
        "roles": sorted(json.dumps(r, sort_keys=True) for r in roles),
        "groups": sorted(json.dumps(g, sort_keys=True) for g in groups),
        "policies": sorted(json.dumps(p, sort_keys=True) for p in policies),
    }


@contextlib.contextmanager
def unchanged(caller, *extra_probes):
    """`with unchanged(root_client, lambda: ...):` — the account's users, roles,
    groups and custom policies (and whatever the extra probes return) are the
    same after the block as before it."""
    before = snapshot(caller), [probe() for probe in extra_probes]
    yield
    after = snapshot(caller), [probe() for probe in extra_probes]
    assert before == after, "state changed:\nbefore %s\nafter  %s" % (before, after)

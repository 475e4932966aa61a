"""Policy documents used by the tests."""

import json


def trust(*principals_ram, service=None):
    principal = {}
    if principals_ram:
        principal["RAM"] = list(principals_ram)
    if service:
        principal["Service"] = [service]
    return json.dumps({
        "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": principal}],
        "Version": "1",
    })


def allow(*actions, resource="*"):
    return json.dumps({
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}],
    })


def same_json(a: str, b: str) -> bool:
    """Two JSON texts with the same meaning (the server may reformat)."""
    return json.loads(a) == json.loads(b)

"""The tests may only ever talk to loopback: the guards in the pytest process
(rampart_e2e.netguard) and in the Node runner (node/loopback-guard.js) refuse
anything else before a packet leaves. Runs without a server."""

import socket
import subprocess

import pytest

from rampart_e2e import sdk


def test_python_refuses_non_loopback_connections():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        with pytest.raises(ConnectionRefusedError, match="network guard"):
            s.connect(("192.0.2.1", 80))  # TEST-NET-1, never routed anyway
    with pytest.raises(socket.gaierror, match="network guard"):
        socket.getaddrinfo("ram.aliyuncs.com", 443)


def test_python_allows_loopback():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        with socket.create_connection(srv.getsockname(), timeout=5):
            pass


def test_node_refuses_non_loopback_connections():
    script = (
        "require('./loopback-guard');"
        "let out = [];"
        "try { require('net').connect(443, '192.0.2.1'); out.push('connected') }"
        " catch (e) { out.push(e.code) }"
        "require('dns').lookup('sts.aliyuncs.com', (e) => {"
        " out.push(e && e.code); console.log(JSON.stringify(out)); });"
    )
    proc = subprocess.run([sdk.node_binary(), "-e", script], cwd=sdk.NODE_DIR,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == '["E2E_NON_LOOPBACK","E2E_NON_LOOPBACK"]', proc.stdout


def test_popcore_runner_refuses_a_non_local_endpoint():
    out = sdk.run_node(sdk.POPCORE_RUNNER, {
        "endpoint": "http://ram.aliyuncs.com", "accessKeyId": "a", "accessKeySecret": "b",
        "apiVersion": "2015-05-01", "action": "ListUsers", "params": {}, "method": "POST"})
    assert out["ok"] is False and "refusing endpoint" in out["exception"]

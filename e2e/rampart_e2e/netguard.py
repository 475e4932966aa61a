"""Refuse, inside the test process, any connection or name lookup that is not
to the loopback interface. The tests must never contact anything outside
127.0.0.1 (nor reach a cloud endpoint by accident when an SDK falls back to
its defaults): with this guard such an attempt fails loudly instead."""

from __future__ import annotations

import ipaddress
import socket

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
_installed = False


class NonLoopbackConnection(ConnectionRefusedError):
    pass


def _is_loopback_host(host) -> bool:
    if host is None:
        return True  # getaddrinfo(None, port): the local wildcard/loopback
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]").lower()
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _check_address(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0] if isinstance(address, tuple) else address
        if not _is_loopback_host(host):
            raise NonLoopbackConnection(
                "e2e network guard: refused connection to %r (only loopback is allowed)"
                % (address,)
            )


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    orig_connect = socket.socket.connect
    orig_connect_ex = socket.socket.connect_ex
    orig_getaddrinfo = socket.getaddrinfo
    orig_gethostbyname = socket.gethostbyname

    def connect(self, address):
        _check_address(self, address)
        return orig_connect(self, address)

    def connect_ex(self, address):
        _check_address(self, address)
        return orig_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_loopback_host(host):
            raise socket.gaierror(
                socket.EAI_NONAME, "e2e network guard: refused lookup of %r" % (host,)
            )
        return orig_getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host):
        if not _is_loopback_host(host):
            raise socket.gaierror(
                socket.EAI_NONAME, "e2e network guard: refused lookup of %r" % (host,)
            )
        return orig_gethostbyname(host)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.getaddrinfo = getaddrinfo
    socket.gethostbyname = gethostbyname


def scrub_environment(env: dict) -> dict:
    """Environment for the test process and its children: no proxies (Tea and
    Node honour HTTP(S)_PROXY), no ambient cloud credentials, no ECS metadata
    probing by credential providers."""
    for key in list(env):
        upper = key.upper()
        if upper in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
            del env[key]
        elif upper.startswith("ALIBABA_CLOUD_") or upper.startswith("ALIYUN_"):
            del env[key]
    env["NO_PROXY"] = "127.0.0.1,localhost,::1"
    env["no_proxy"] = env["NO_PROXY"]
    env["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
    env["ALIBABA_CLOUD_CLI_PROFILE_DISABLED"] = "true"
    return env

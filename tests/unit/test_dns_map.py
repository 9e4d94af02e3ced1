"""The local cloud's name resolution for RDS and RDS Proxy endpoints (lab_helpers/local/vpc/dns_map.py).

Inside Lambda environments the handler connects to the endpoint's AWS name on port 3306, unchanged from AWS;
the map sends exactly those names on exactly that port to the local port, and leaves everything else alone.
"""
import json
import os
import socket
import types

import pytest

from lab_helpers.local.vpc.dns_map import DnsMap, patch_getaddrinfo

PROXY = "lab-proxy.proxy-abc123.ap-northeast-2.rds.amazonaws.com"


@pytest.fixture
def dns(tmp_path):
    path = tmp_path / "dns.json"
    path.write_text(json.dumps({PROXY: {"port": 3306, "local_port": 41234}}))
    return path, DnsMap(str(path))


def test_a_known_name_on_its_port_goes_to_the_local_port(dns):
    _, names = dns
    assert names.lookup(PROXY, 3306) == ("127.0.0.1", 41234)
    assert names.lookup(PROXY.upper() + ".", "3306") == ("127.0.0.1", 41234)  # DNS names: any case, a root dot
    assert names.lookup(PROXY, None) == ("127.0.0.1", 41234)


@pytest.mark.parametrize("host,port", [
    (PROXY, 3307),  # another port: nothing listens there on AWS either
    (PROXY, "http"),
    ("other.proxy-abc123.ap-northeast-2.rds.amazonaws.com", 3306),
    ("localhost", 3306),
    (None, 3306),
    (b"bytes-host", 3306),
])
def test_everything_else_is_left_to_the_system(dns, host, port):
    assert dns[1].lookup(host, port) is None


def test_the_map_is_read_again_when_the_file_changes(dns):
    path, names = dns
    assert names.lookup(PROXY, 3306) == ("127.0.0.1", 41234)
    path.write_text(json.dumps({PROXY: {"port": 3306, "local_port": 45000}}))
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a new mtime even on a coarse clock
    assert names.lookup(PROXY, 3306) == ("127.0.0.1", 45000)


def test_a_missing_or_broken_file_resolves_nothing(dns, tmp_path):
    path, names = dns
    assert DnsMap(str(tmp_path / "absent.json")).lookup(PROXY, 3306) is None
    path.write_text("{not json")
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000))
    assert names.lookup(PROXY, 3306) is None


def test_getaddrinfo_patched_once_resolves_the_map_first(dns):
    seen = []

    def system(host, port, family=0, type=0, proto=0, flags=0):
        seen.append((host, port))
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (host, port))]

    fake_socket = types.SimpleNamespace(getaddrinfo=system)
    patch_getaddrinfo(fake_socket, dns[1])
    patch_getaddrinfo(fake_socket, dns[1])  # idempotent: not wrapped twice
    assert fake_socket.getaddrinfo(PROXY, 3306)[0][4] == ("127.0.0.1", 41234)
    assert fake_socket.getaddrinfo("example.com", 443)[0][4] == ("example.com", 443)
    assert seen == [("127.0.0.1", 41234), ("example.com", 443)]
    assert fake_socket.getaddrinfo._lab_original is system

"""`make conformance` counts what a real pytest run reports: a small suite run here twice, as a driver's
suite runs directly and through the proxy."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lab_helpers.tools import conformance

SUITE = '''
import os
import pytest

THROUGH_PROXY = os.environ.get("TARGET") == "proxy"

@pytest.fixture
def broken():
    raise RuntimeError("set-up fails")

def test_passes():
    assert True

def test_fails_everywhere():
    assert False

def test_fails_through_the_proxy():
    assert not THROUGH_PROXY

@pytest.mark.skip(reason="not here")
def test_skipped():
    pass

def test_setup_error(broken):
    pass

class TestGroup:
    def test_in_a_class(self):
        assert True
'''


def _run(tmp_path, target: str):
    (tmp_path / "test_small.py").write_text(SUITE)
    report = tmp_path / f"{target}.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                    f"--rootdir={tmp_path}", f"--junitxml={report}", "test_small.py"], cwd=tmp_path,
                   env={"TARGET": target, "PATH": "/usr/bin:/bin"}, capture_output=True, timeout=60)
    return conformance.read_junit(report)


def test_counts_and_the_failures_only_through_the_proxy(tmp_path):
    direct, proxied = _run(tmp_path, "direct"), _run(tmp_path, "proxy")
    assert (direct.passed, direct.failed, direct.skipped) == (3, 2, 1)
    assert (proxied.passed, proxied.failed, proxied.skipped) == (2, 3, 1)
    assert direct.failures == ["test_small::test_fails_everywhere", "test_small::test_setup_error"]
    assert conformance.proxy_only(direct, proxied) == ["test_small::test_fails_through_the_proxy"]


def test_a_listed_failure_needs_the_rds_proxy_documentation(tmp_path):
    listing = tmp_path / "expected.json"
    listing.write_text(json.dumps({"pymysql": {"t::x": {"why": "as RDS Proxy", "documentation": "https://x"}}}))
    with pytest.raises(ValueError, match="RDS Proxy documentation"):
        conformance.expected_failures(listing)
    assert conformance.expected_failures(conformance.EXPECTED) is not None  # the project's own list is valid

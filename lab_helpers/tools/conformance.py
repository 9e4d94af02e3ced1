"""`make conformance`: other people's test suites, run directly against a MariaDB and through the local RDS
Proxy (TLS required, as the lesson's proxy), with both counts side by side.

    python -m lab_helpers.tools.conformance                # every suite; writes build/conformance/results.json
    python -m lab_helpers.tools.conformance --suite pymysql

The suites are the drivers' own, at the versions the project pins (pyproject.toml) or that work with them:
- PyMySQL 1.2.4: its sdist on PyPI holds the library and only tests/test_auth.py (which needs MySQL 8's
  sha256 accounts), so its test suite (pymysql/tests) is kept in conformance/suites/pymysql/, copied from
  the PyMySQL repository (see the SOURCE file there); it runs on the sdist's library.
- aiomysql 0.3.2: its sdist on PyPI, tests included.
- mysql-connector-python (pinned 26.10.0 for the tests): its sdist holds tests, but they are run by its own
  unittests.py, which installs and starts a MySQL server of its own; not run here.

Both runs use one MariaDB (TLS on, as the suites' set-up expects) and one proxy in front of it, in a
virtualenv of their own (build/conformance/venv). Each suite gets the configuration it reads (PyMySQL:
pymysql/tests/databases.json; aiomysql: --mysql-address and MYSQL_ROOT_PASSWORD). A test that fails only
through the proxy must be listed in conformance/expected_failures.json with the RDS Proxy documentation
that says RDS Proxy behaves the same way; the run says which are not (and exits 1).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import paths

ROOT = Path(__file__).resolve().parents[2]  # the checkout
CONFORMANCE = ROOT / "conformance"
EXPECTED = CONFORMANCE / "expected_failures.json"
WORK = paths.build_dir() / "conformance"
RESULTS = WORK / "results.json"
USER, PASSWORD = "root", "Conformance0"  # aiomysql's suite logs in as root
PYMYSQL, AIOMYSQL = "PyMySQL==1.2.4", "aiomysql==0.3.2"
# The suites' virtualenv: the project's pins where it has them (pyproject.toml), else the suite's own. pytest is
# the suites' own (aiomysql's requirements-dev.txt): pytest 9 refuses aiomysql's async fixtures, and the tests that
# use them would fail in set-up on both targets, never reaching the proxy.
VENV_PACKAGES = [PYMYSQL, AIOMYSQL, "pytest==8.4.2", "uvloop==0.23.0", "cryptography==50.0.2",
                 "SQLAlchemy==1.3.24"]  # aiomysql.sa needs SQLAlchemy 1.3 (aiomysql's requirements-dev.txt)
SUITE_TIMEOUT = 1800  # seconds per suite and target


@dataclass
class Counts:
    """One suite's outcome on one target: counts, and the ids of the tests that failed (or errored)."""
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped


def read_junit(path: Path) -> Counts:
    """Counts from a pytest --junitxml report (an error in a test's set-up counts as its failure)."""
    counts = Counts()
    for case in ET.parse(path).getroot().iter("testcase"):
        test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
        outcomes = {child.tag for child in case}
        if outcomes & {"failure", "error"}:
            counts.failed += 1
            counts.failures.append(test_id)
        elif "skipped" in outcomes:
            counts.skipped += 1
        else:
            counts.passed += 1
    counts.failures.sort()
    return counts


def proxy_only(direct: Counts, proxied: Counts) -> list[str]:
    """The tests that failed through the proxy and passed (or were skipped) directly."""
    return sorted(set(proxied.failures) - set(direct.failures))


def expected_failures(path: Path = EXPECTED) -> dict[str, dict[str, Any]]:
    """suite -> {test id: {"why": ..., "documentation": URL}} from conformance/expected_failures.json."""
    data: dict[str, dict[str, Any]] = json.loads(path.read_text())
    for suite, tests in data.items():
        for test_id, entry in tests.items():
            if not str(entry.get("documentation", "")).startswith("https://docs.aws.amazon.com/"):
                raise ValueError(f"{path.name}: {suite} {test_id} needs the RDS Proxy documentation that says "
                                 "RDS Proxy behaves the same way (a docs.aws.amazon.com link in 'documentation').")
    return data


# ---------------------------------------------------------------- what the suites run on

def _run(cmd: list[Any], **kwargs: Any) -> subprocess.CompletedProcess[Any]:
    return subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def ensure_venv(work: Path) -> Path:
    """build/conformance/venv with the suites' packages (made once; again when the list changes)."""
    venv, stamp = work / "venv", work / "venv" / ".packages"
    python = venv / "bin" / "python"
    if stamp.is_file() and stamp.read_text() == "\n".join(VENV_PACKAGES):
        return python
    print(f"installing the suites' packages into {paths.shown(venv)}: {' '.join(VENV_PACKAGES)}", flush=True)
    _run([sys.executable, "-m", "venv", "--clear", venv])
    _run([python, "-m", "pip", "install", "-q", *VENV_PACKAGES])
    stamp.write_text("\n".join(VENV_PACKAGES))
    return python


def sdist(python: Path, requirement: str, work: Path) -> Path:
    """The requirement's sdist from PyPI, unpacked under work/src/: its folder."""
    src = work / "src"
    name, version = requirement.split("==")
    for found in src.glob("*"):
        if found.is_dir() and found.name.lower() == f"{name.lower()}-{version}":
            return found
    src.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        _run([python, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:", "-d", tmp, requirement])
        archive = next(Path(tmp).glob("*.tar.gz"))
        with tarfile.open(archive) as tar:
            tar.extractall(src, filter="data")
    return next(f for f in src.glob("*") if f.is_dir() and f.name.lower() == f"{name.lower()}-{version}")


@dataclass
class Target:
    """Where a suite connects: the database directly, or the proxy."""
    name: str
    port: int
    ca: Path


def pymysql_suite(python: Path, work: Path, target: Target) -> Path:
    """PyMySQL's pymysql/tests on the sdist's library, configured for `target`: the junit report."""
    tree = work / f"pymysql-{target.name}"
    if not tree.exists():
        shutil.copytree(sdist(python, PYMYSQL, work) / "pymysql", tree / "pymysql")
        shutil.copytree(CONFORMANCE / "suites" / "pymysql" / "tests", tree / "pymysql" / "tests")
        (tree / "pytest.ini").write_text("[pytest]\n")  # the suite's own (none): not the checkout's
    ssl = {"ca": str(target.ca)}
    databases = [
        {"host": "127.0.0.1", "port": target.port, "user": USER, "password": PASSWORD, "database": "test1",
         "use_unicode": True, "local_infile": True, "ssl": ssl},
        {"host": "127.0.0.1", "port": target.port, "user": "test2", "password": "some password",
         "database": "test2", "ssl": ssl},
    ]
    (tree / "pymysql" / "tests" / "databases.json").write_text(json.dumps(databases, indent=1))
    report = work / f"pymysql-{target.name}.xml"
    subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
                    "pymysql/tests"], cwd=tree, timeout=SUITE_TIMEOUT, stdout=subprocess.DEVNULL,
                   stderr=subprocess.STDOUT)
    return report


# The one change to a suite, made for both targets alike: aiomysql's set-up checks that it reached the server
# with TLS by the server session's Ssl_version; through the proxy that is the proxy's database connection's
# (plain here; RDS Proxy documents that "SSL session variables are not set for SSL connections to a database
# using RDS Proxy", rds-proxy.howitworks.html#rds-proxy-security.tls), so every test would fail in set-up. The
# check reads the client's own TLS session instead. Its test_tls_connect reads Ssl_version itself and is listed.
AIOMYSQL_PATCH = ("tests/conftest.py",
                  "cursor.execute(\"SHOW STATUS LIKE 'Ssl_version%'\")\n"
                  "                result = cursor.fetchone()\n",
                  "result = {'Value': connection._sock.version() or ''}  # make conformance: the client's TLS\n")


def aiomysql_suite(python: Path, work: Path, target: Target) -> Path:
    """aiomysql's tests from its sdist, configured for `target` (AIOMYSQL_PATCH applied): the junit report."""
    tree = sdist(python, AIOMYSQL, work)
    name, old, new = AIOMYSQL_PATCH
    conftest = tree / name
    if old in conftest.read_text():
        conftest.write_text(conftest.read_text().replace(old, new))
    elif new not in conftest.read_text():
        raise RuntimeError(f"{conftest} is not the one AIOMYSQL_PATCH was written for")
    if not (tree / "pytest.ini").exists():
        (tree / "pytest.ini").write_text("[pytest]\n")  # the suite's own (none): not the checkout's
    report = work / f"aiomysql-{target.name}.xml"
    env = {**os.environ, "MYSQL_ROOT_PASSWORD": PASSWORD}
    subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
                    f"--mysql-address=server=127.0.0.1:{target.port}", "tests"], cwd=tree, env=env,  # one test id
                   timeout=SUITE_TIMEOUT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    return report


SUITES = {"pymysql": pymysql_suite, "aiomysql": aiomysql_suite}

# What the suites' own CI creates before they run (PyMySQL: ci/docker-entrypoint-initdb.d/init.sql).
SETUP_SQL = [
    f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'",
    f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'127.0.0.1' WITH GRANT OPTION",
    "CREATE DATABASE test1 DEFAULT CHARACTER SET utf8mb4",
    "CREATE DATABASE test2 DEFAULT CHARACTER SET utf8mb4",
    "CREATE USER test2 IDENTIFIED BY 'some password'",
    "GRANT ALL ON test2.* TO test2",
    "SET GLOBAL local_infile = 1",
]


def run(suites: list[str], work: Path = WORK, echo: Callable[..., None] = print) -> dict[str, Any]:
    """Each suite directly and through the proxy; the results (also written to work/results.json)."""
    from ..local import CertificateAuthority, MariaDB, ProxySettings, RdsProxy

    work.mkdir(parents=True, exist_ok=True)
    python = ensure_venv(work)
    ca = CertificateAuthority(work / "ca").ensure()
    state = Path(tempfile.mkdtemp(prefix="conformance-", dir=work))
    db_cert, db_key = ca.issue("database", [], state / "db" / "tls")
    db = MariaDB(state / "db", max_connections=200, options=(f"--ssl-cert={db_cert}", f"--ssl-key={db_key}"))
    proxy = None
    try:
        db.start(work / "mariadb-template")
        for sql in SETUP_SQL:
            db.execute(sql)
        proxy_cert, proxy_key = ca.issue("proxy", [], state / "proxy")
        settings = ProxySettings(credentials={USER: PASSWORD, "test2": "some password"},
                                 target=("127.0.0.1", db.bound_port), db_max_connections=200, require_tls=True,
                                 tls=(str(proxy_cert), str(proxy_key)),
                                 server_version="5.5.5-" + db.execute("SELECT VERSION()")[0][0])  # as MariaDB's
        proxy = RdsProxy("conformance", lambda: settings)
        proxy.start()
        results: dict[str, Any] = {"suites": {}}
        expected = expected_failures()
        for suite in suites:
            counts = {}
            for target in (Target("direct", db.bound_port, ca.cert_path), Target("proxy", proxy.port, ca.cert_path)):
                echo(f"{suite}: running {'directly' if target.name == 'direct' else 'through the proxy'}",
                     flush=True)
                counts[target.name] = read_junit(SUITES[suite](python, work, target))
            only = proxy_only(counts["direct"], counts["proxy"])
            listed = expected.get(suite, {})
            results["suites"][suite] = {
                **{name: {"passed": c.passed, "failed": c.failed, "skipped": c.skipped, "failures": c.failures}
                   for name, c in counts.items()},
                "proxy_only_failures": only,
                "unexplained": [t for t in only if t not in listed],
            }
    finally:
        if proxy:
            proxy.stop()
        db.stop()
        shutil.rmtree(state, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    (work / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    return results


def table(results: dict[str, Any]) -> str:
    lines = [f"{'suite':<10} {'direct: passed/failed/skipped':>30} {'proxy: passed/failed/skipped':>30}  "
             "fail only via proxy (unexplained)"]
    for suite, r in results["suites"].items():
        d, p = r["direct"], r["proxy"]
        lines.append(f"{suite:<10} {d['passed']:>16}/{d['failed']}/{d['skipped']:<8} "
                     f"{p['passed']:>16}/{p['failed']}/{p['skipped']:<8}  "
                     f"{len(r['proxy_only_failures'])} ({len(r['unexplained'])})")
        for test_id in r["unexplained"]:
            lines.append(f"    not explained: {test_id}")
    return "\n".join(lines)


def summary(path: Path = RESULTS) -> dict[str, Any] | None:
    """What `make bench` shows: each suite's counts, when `make conformance` ran."""
    if not path.is_file():
        return None
    results = json.loads(path.read_text())
    return {suite: {"direct": f"{r['direct']['passed']}/{r['direct']['failed']}/{r['direct']['skipped']}",
                    "proxy": f"{r['proxy']['passed']}/{r['proxy']['failed']}/{r['proxy']['skipped']}",
                    "proxy_only": len(r["proxy_only_failures"]), "unexplained": len(r["unexplained"])}
            for suite, r in results["suites"].items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab_helpers.tools.conformance", description=__doc__.split("\n")[0])
    parser.add_argument("--suite", action="append", choices=sorted(SUITES), help="one suite (default: all)")
    args = parser.parse_args(argv)
    if not EXPECTED.is_file():
        print(f"error: {paths.shown(CONFORMANCE)} is missing: run `make conformance` in the project's checkout.")
        return 2
    results = run(args.suite or list(SUITES))
    print()
    print(table(results))
    print(f"\nwrote {paths.shown(RESULTS)}")
    return 1 if any(r["unexplained"] for r in results["suites"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())

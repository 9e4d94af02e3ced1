"""Integration tests on the local cloud: one cloud for the session, in its own state folder and port."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from lab_helpers.core.config import Lab
from lab_helpers.local import lifecycle
from lab_helpers.local.rds import mariadb
from lab_helpers.local.rds.proxy.__main__ import TEST_HOOKS_ENV
from lab_helpers.local.vpc import dns

DB_TIME_ZONE = "+05:45"  # a zone no machine here uses: a time in it can only come from the database


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.integration)


def admin_query(root, sql: str) -> list[tuple]:
    """The admin account (this OS user's) on the local MariaDB, over its unix socket (what an operator, not the
    lab, would use)."""
    return mariadb.admin_query(mariadb.MariaDB(Path(root) / "mariadb").socket, sql)


@pytest.fixture(scope="session")
def cloud():
    os.environ[TEST_HOOKS_ENV] = "1"  # its proxies' event loops can be blocked on purpose (SIGUSR1)
    with lifecycle.fresh("lab-integration-") as info:
        os.environ.pop(TEST_HOOKS_ENV, None)
        root = Path(info["root"])
        admin_query(root, f"SET GLOBAL time_zone = '{DB_TIME_ZONE}'")
        dns.install(root / "dns.json")  # this test process resolves RDS endpoint names as a VPC would
        yield {**info, "root": root}


@pytest.fixture(scope="session")
def lab(cloud) -> Lab:
    return Lab.local(cloud["endpoint"])

"""Integration tests on the local cloud: one cloud for the session, in its own state folder and port."""
from __future__ import annotations

import pytest

from lab_helpers.config import Lab
from lab_helpers.local import lifecycle, mariadb, vpc_dns
from lab_helpers.local.ports import free_port

DB_TIME_ZONE = "+05:45"  # a zone no machine here uses: a time in it can only come from the database


def admin_query(root, sql: str) -> list[tuple]:
    """root on the local MariaDB, over its unix socket (what an operator, not the lab, would use)."""
    return mariadb.admin_query(str(root / "mariadb" / "mysqld.sock"), sql)


@pytest.fixture(scope="session")
def cloud(tmp_path_factory):
    root = tmp_path_factory.mktemp("cloud")
    info = lifecycle.up(root, free_port())
    admin_query(root, f"SET GLOBAL time_zone = '{DB_TIME_ZONE}'")
    vpc_dns.install(root / "dns.json")  # this test process resolves RDS endpoint names as a VPC would
    yield {**info, "root": root}
    lifecycle.down(root)


@pytest.fixture(scope="session")
def lab(cloud) -> Lab:
    return Lab.local(cloud["endpoint"])

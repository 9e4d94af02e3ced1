"""The local RDS Proxy's test bench: a private MariaDB with the lab's user, and a proxy in front of it."""
from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass

import pymysql
import pytest

from lab_helpers.local.rds.mariadb import MariaDB
from lab_helpers.local.rds.proxy import ProxySettings, RdsProxy
from tests.polling import wait_until

USER, PASSWORD = "admin", "Passw0rd"


@dataclass
class Lab:
    db: MariaDB
    proxy: RdsProxy
    settings: ProxySettings  # the proxy reads it at each use: tests may change it


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    db = MariaDB(tmp_path_factory.mktemp("rds_proxy") / "db", max_connections=10)
    db.start(tmp_path_factory.getbasetemp() / "mariadb-template")
    proxy = None
    try:
        db.ensure_user(USER, PASSWORD)
        db.execute("CREATE DATABASE lab")
        db.execute("CREATE DATABASE other")
        db.execute("CREATE TABLE lab.accounts (id INT PRIMARY KEY, balance INT) ENGINE=InnoDB")
        db.execute("INSERT INTO lab.accounts VALUES (1, 100), (2, 200)")
        settings = ProxySettings(credentials={USER: PASSWORD}, target=("127.0.0.1", db.port),
                                 db_max_connections=10, max_connections_percent=50)
        proxy = RdsProxy("lab-proxy", lambda: settings)
        proxy.start()
        yield Lab(db, proxy, settings)
    finally:
        if proxy:
            proxy.stop()
        db.stop()


@pytest.fixture
def connect(lab):
    """Open PyMySQL connections to the proxy (PyMySQL defaults: autocommit off); all closed afterwards."""
    opened = []

    def _connect(port: int | None = None, **kwargs) -> pymysql.connections.Connection:
        kwargs = {"host": "127.0.0.1", "port": port or lab.proxy.port, "user": USER, "password": PASSWORD,
                  "database": "lab", **kwargs}
        conn = pymysql.connect(**kwargs)
        opened.append(conn)
        return conn

    yield _connect
    for conn in opened:
        with suppress(Exception):
            conn.close()
    wait_until(lambda: lab.proxy.stats()["clients"] == 0 and lab.proxy.stats()["backend_in_use"] == 0)


def query(conn, sql: str) -> tuple:
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


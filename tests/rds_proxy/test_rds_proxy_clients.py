"""The local RDS Proxy with clients other than the lesson's: what a MySQL 8 client (MySQL Connector/Python,
binary-protocol prepared statements, its default collation and auth plugin) and multi-statement
clients see through the proxy is what they see from the database directly."""
from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import mysql.connector
import pymysql
import pytest
from pymysql.constants import CLIENT

from tests.rds_proxy.conftest import PASSWORD, USER, query, wait_until

pytestmark = pytest.mark.integration

KINDS = ("CREATE TABLE IF NOT EXISTS lab.kinds (id BIGINT PRIMARY KEY, tiny TINYINT, small SMALLINT, big BIGINT "
         "UNSIGNED, price DECIMAL(12,4), ratio DOUBLE, approx FLOAT, day DATE, at DATETIME(6), span TIME(3), "
         "label VARCHAR(40), raw BLOB, doc TEXT, nothing INT)")
ROWS = [
    (1, -5, 300, 2**63, Decimal("12345678.9012"), 0.1, 1.5, dt.date(2024, 5, 6),
     dt.datetime(2024, 5, 6, 7, 8, 9, 123456), dt.timedelta(hours=25, minutes=1, seconds=2, milliseconds=345),
     "모듈 3 ✅", b"\x00\xff\x10", "long " * 50, None),
    (2, None, None, None, None, None, None, None, None, None, None, None, None, None),
]
INSERT = ("INSERT INTO lab.kinds VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
          "ON DUPLICATE KEY UPDATE tiny = VALUES(tiny)")


def connector(port: int, **options):
    """MySQL Connector/Python with its defaults (a MySQL 8 client): utf8mb4_0900_ai_ci, its own auth plugin."""
    return mysql.connector.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD, database="lab",
                                   connection_timeout=10, **options)


@pytest.fixture(scope="module")
def kinds(lab):
    lab.db.execute(KINDS)
    return lab


def prepared_rows(port: int, use_pure: bool) -> list[tuple]:
    conn = connector(port, use_pure=use_pure)
    try:
        cur = conn.cursor(prepared=True)  # COM_STMT_PREPARE / COM_STMT_EXECUTE: the binary protocol
        for row in ROWS:
            cur.execute(INSERT, row)
        conn.commit()
        cur.execute("SELECT * FROM lab.kinds WHERE id >= ? ORDER BY id", (1,))
        rows = [tuple(r) for r in cur.fetchall()]
        cur.close()
        return rows
    finally:
        conn.close()


@pytest.mark.parametrize("use_pure", [True, False], ids=["pure-python", "c-extension"])
def test_binary_prepared_statements_give_what_the_database_gives(kinds, use_pure):
    if not use_pure and not mysql.connector.HAVE_CEXT:
        pytest.skip("this MySQL Connector/Python has no C extension")
    through_proxy = prepared_rows(kinds.proxy.port, use_pure)
    direct = prepared_rows(kinds.db.port, use_pure)
    assert through_proxy == direct
    assert through_proxy[0][4] == Decimal("12345678.9012") and through_proxy[0][10] == "모듈 3 ✅"
    assert through_proxy[1] == (2,) + (None,) * 13
    assert kinds.proxy.stats()["pinned"] == 0  # the client left: its pinned connection was closed


def test_a_mysql8_client_logs_in_with_its_defaults_and_gets_the_nearest_collation(lab):
    conn = connector(lab.proxy.port)
    try:
        assert conn.server_info == lab.proxy.settings().server_version
        cur = conn.cursor()
        cur.execute("SELECT @@character_set_client, @@collation_connection, 'ü' = 'u'")
        charset, collation, accent_insensitive = cur.fetchone()
        assert (charset, collation) == ("utf8mb4", "utf8mb4_unicode_520_ci")  # for utf8mb4_0900_ai_ci
        assert accent_insensitive == 1  # as with MySQL 8's utf8mb4_0900_ai_ci
        cur.execute("SET NAMES utf8mb4 COLLATE utf8mb4_0900_ai_ci")  # MySQL 8's own name, mapped too
        cur.execute("SELECT @@collation_connection")
        assert cur.fetchone() == ("utf8mb4_unicode_520_ci",)
        assert lab.proxy.stats()["pinned"] == 0
    finally:
        conn.close()


def test_mysql8_variable_names_reach_the_engine_by_its_names(lab, connect):
    conn = connect(autocommit=True)
    query(conn, "SET SESSION transaction_isolation = 'READ-COMMITTED'")  # MySQL 8's name; MariaDB: tx_isolation
    holder = connect()
    query(holder, "SELECT 1")  # keeps a connection, so `conn` is given another one
    assert query(conn, "SELECT @@tx_isolation") == (("READ-COMMITTED",),)
    holder.rollback()


def every_result(cur, shown=lambda cur, rows: rows) -> list:
    """Each result of the statement the cursor ran, as `shown(cursor, rows)` gives it."""
    results = []
    while True:
        results.append(shown(cur, cur.fetchall()))
        if not cur.nextset():
            return results


def multi(port: int) -> list:
    conn = pymysql.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD, database="lab",
                           client_flag=CLIENT.MULTI_STATEMENTS, autocommit=True)
    try:
        results = []
        with conn.cursor() as cur:
            cur.execute("SELECT 1 AS one; SELECT 'two', 2.5; DO 0; SELECT id FROM kinds ORDER BY id")
            results += every_result(cur, lambda cur, rows: (cur.description and [d[0] for d in cur.description],
                                                            rows))
            cur.execute("DROP PROCEDURE IF EXISTS lab.two_results")
            cur.execute("CREATE PROCEDURE lab.two_results() BEGIN SELECT 'first'; SELECT 'second', 2; END")
            cur.execute("CALL lab.two_results()")
            results += every_result(cur)
        return results
    finally:
        conn.close()


def test_multi_statements_and_procedures_return_every_result(kinds):
    through_proxy = multi(kinds.proxy.port)
    assert through_proxy == multi(kinds.db.port)
    assert [r[1] for r in through_proxy[:2]] == [((1,),), (("two", Decimal("2.5")),)]
    assert (("first",),) in through_proxy and (("second", 2),) in through_proxy


def test_a_megabyte_of_whitespace_is_classified_in_one_pass(lab, connect):
    """The statement is relayed (and answered by the database) while other clients keep going."""
    conn = connect(read_timeout=30)
    others, stop = [], threading.Event()

    def other() -> None:
        c = connect(autocommit=True)
        while not stop.is_set():
            others.append(query(c, "SELECT 1"))

    thread = threading.Thread(target=other)
    thread.start()
    try:
        wait_until(lambda: len(others) > 0)
        with pytest.raises(pymysql.err.ProgrammingError) as raised:
            query(conn, "SET a" + " " * (1 << 20) + "b")
        assert raised.value.args[0] == 1064  # the database's syntax error: it got the statement
        assert query(conn, "SELECT 2" + " " * (1 << 20)) == ((2,),)
        answered = len(others)
        wait_until(lambda: len(others) > answered)  # the other client never stopped being served
    finally:
        stop.set()
        thread.join()
    assert all(r == ((1,),) for r in others)


def test_a_statement_over_16kb_pins(lab, connect):
    """Proxy level: the proxy pins the session and frees it when the client leaves; tests/unit/test_sql_classifier.py
    covers the exact 16 KB boundary."""
    conn = connect(autocommit=True)
    query(conn, "SELECT 1 /*" + "x" * 17000 + "*/")
    assert lab.proxy.stats()["pinned"] == 1
    conn.close()
    wait_until(lambda: lab.proxy.stats()["pinned"] == 0)


@pytest.mark.parametrize("statement", ["FLUSH TABLES WITH READ LOCK", "SELECT 3 INTO @v",
                                       "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", "SET SESSION max_join_size = 5"])
def test_more_statements_that_pin(lab, connect, statement):
    """Proxy level: the classification acted on (pinned, then released); tests/unit/test_sql_classifier.py covers
    each rule's spellings, quotes, comments and multi-statements."""
    conn = connect(autocommit=True)
    query(conn, statement)
    assert lab.proxy.stats()["pinned"] == 1
    if statement.startswith("FLUSH"):
        query(conn, "UNLOCK TABLES")
    conn.close()
    wait_until(lambda: lab.proxy.stats()["pinned"] == 0)


TRACKED = [("auto_increment_increment", "2"), ("character_set_database", "'latin1'"),
           ("character_set_filesystem", "'latin1'"), ("character_set_server", "'latin1'"),
           ("collation_database", "'latin1_bin'"), ("collation_server", "'latin1_bin'"),
           ("interactive_timeout", "100"), ("net_write_timeout", "100"),
           ("session_track_schema", "0"), ("sql_mode", "'ANSI_QUOTES'"), ("time_zone", "'+03:00'"),
           ("tx_isolation", "'READ-COMMITTED'"), ("tx_read_only", "1"), ("wait_timeout", "100")]


@pytest.mark.parametrize("name, value", TRACKED, ids=[name for name, _ in TRACKED])
def test_each_tracked_variable_follows_the_client_without_pinning(lab, connect, name, value):
    conn = connect(autocommit=True)
    before = query(conn, f"SELECT @@SESSION.{name}")
    query(conn, f"SET SESSION {name} = {value}")
    assert lab.proxy.stats()["pinned"] == 0 and lab.proxy.stats()["backend_in_use"] == 0
    wanted = query(conn, f"SELECT @@SESSION.{name}")
    assert wanted != before
    holders = [connect() for _ in range(2)]
    for holder in holders:
        query(holder, "SELECT 1")  # each keeps a connection: `conn` is given another one...
    assert query(conn, f"SELECT @@SESSION.{name}") == wanted  # ...with its setting replayed
    for holder in holders:
        holder.rollback()
    other = connect(autocommit=True)
    assert query(other, f"SELECT @@SESSION.{name}") == before  # and never another client's


def test_a_tracked_setting_the_database_refuses_comes_back_and_changes_nothing(lab, connect):
    """query_cache_type is tracked too; this engine has the query cache off, so it refuses DEMAND."""
    conn = connect(autocommit=True)
    with pytest.raises(pymysql.err.OperationalError) as raised:
        query(conn, "SET SESSION query_cache_type = DEMAND")
    assert raised.value.args[0] == 1925
    assert lab.proxy.stats()["pinned"] == 0
    assert query(conn, "SELECT @@SESSION.query_cache_type") == (("OFF",),)


def test_idle_connections_above_max_idle_percent_are_closed(lab, connect):
    lab.settings.max_idle_connections_percent = 20  # of max_connections 10: at most 2 idle
    try:
        clients = [connect() for _ in range(5)]
        for client in clients:
            query(client, "SELECT 1")  # autocommit off: each keeps its own connection
        assert lab.proxy.stats()["backend_open"] == 5
        for client in clients:
            client.rollback()
        assert lab.proxy.stats()["backend_in_use"] == 0
        assert lab.proxy.stats()["backend_open"] == 2
    finally:
        lab.settings.max_idle_connections_percent = 50


def long_results(port: int) -> list:
    """Results longer than the proxy's relay buffer (1 MB) and a row longer than one packet (16 MB), each
    followed by another result, as digests (lengths and a hash of each row)."""
    conn = pymysql.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD, database="lab",
                           client_flag=CLIENT.MULTI_STATEMENTS, autocommit=True, read_timeout=60)
    try:
        results = []
        with conn.cursor() as cur:
            cur.execute("SELECT seq, REPEAT(CHAR(65 + seq % 26), 1000) FROM seq_1_to_3000; SELECT 'after'")
            results += every_result(cur, lambda cur, rows: [(row[0], len(row[1]), hash(row[1])) if len(row) == 2
                                                             else row for row in rows])
            # 16777212 bytes and their 4-byte length: a row of 16777216 bytes, in two packets, the second
            # one byte, 0xFE: what an EOF packet starts with (a relay that mistook it for one would stop there)
            cur.execute("SELECT CONCAT(REPEAT('x', 16777211), CHAR(254)) AS big, 2 AS two")
            big = cur.fetchall()
            results.append([(len(big[0][0]), big[0][1])])
            cur.execute("SELECT 3")
            results.append(list(cur.fetchall()))
        return results
    finally:
        conn.close()


def test_long_results_arrive_as_the_database_sends_them(lab):
    through_proxy = long_results(lab.proxy.port)
    assert through_proxy == long_results(lab.db.port)
    assert len(through_proxy[0]) == 3000 and through_proxy[1] == [("after",)]
    assert through_proxy[2] == [(16777212, 2)] and through_proxy[3] == [(3,)]

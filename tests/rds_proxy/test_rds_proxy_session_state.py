"""Session state that belongs to the session (#21): two clients interleaved through the proxy see what
one client sees directly from MySQL (AWS documents nothing else for these), never the other's values."""
from __future__ import annotations

import threading
import time
from contextlib import suppress

import mysql.connector
import pymysql
import pytest

from lab_helpers.local.rds.proxy import RdsProxy
from tests.rds_proxy.conftest import PASSWORD, USER, query, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def tables(lab):
    lab.db.execute("CREATE TABLE lab.items (id INT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB")
    lab.db.execute("INSERT INTO lab.items (v) VALUES (1), (1), (1), (2), (2), (2), (2)")


@pytest.fixture
def pair(lab, connect):
    """pair(direct): two autocommit clients (A, B) on the proxy, or on the database when `direct`."""
    def make(direct: bool = False):
        port = lab.db.port if direct else lab.proxy.port
        return connect(port=port, autocommit=True), connect(port=port, autocommit=True)
    return make


@pytest.fixture
def small_pool(lab):
    """A pool of one connection: the second client must take the first one's."""
    saved = lab.settings.max_connections_percent
    lab.settings.max_connections_percent = 10
    yield
    lab.settings.max_connections_percent = saved


def one(conn, sql: str):
    return query(conn, sql)[0][0]


def insert_ids(a, b) -> tuple[int, int, int]:
    with a.cursor() as cur:
        cur.execute("INSERT INTO items (v) VALUES (10)")
        mine = cur.lastrowid
    with b.cursor() as cur:
        cur.execute("INSERT INTO items (v) VALUES (20), (20)")
    return mine, one(a, "SELECT LAST_INSERT_ID()"), one(b, "SELECT LAST_INSERT_ID()")


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "proxy"])
def test_last_insert_id_is_the_clients_own(pair, direct):
    a, b = pair(direct)
    for _ in range(5):
        mine, seen, other = insert_ids(a, b)
        assert seen == mine and other != mine
    query(a, "SELECT 1")  # LAST_INSERT_ID() lasts until the session's next insert
    query(b, "INSERT INTO items (v) VALUES (30)")
    assert one(a, "SELECT LAST_INSERT_ID()") == mine


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "proxy"])
def test_row_count_and_found_rows_are_the_clients_own(pair, direct):
    a, b = pair(direct)
    for _ in range(3):
        query(a, "UPDATE items SET v = v WHERE v = 1")  # matched 3, changed 0
        query(b, "UPDATE items SET v = v + 0 * id WHERE v = 2")
        assert one(a, "SELECT ROW_COUNT()") == 0
        query(a, "DELETE FROM items WHERE v = 99")
        query(b, "UPDATE items SET v = 3 WHERE v = 2")
        query(b, "UPDATE items SET v = 2 WHERE v = 3")
        query(a, "UPDATE items SET v = 5 WHERE v = 1")
        query(b, "SELECT * FROM items")
        assert one(a, "SELECT ROW_COUNT()") == 3
        query(a, "UPDATE items SET v = 1 WHERE v = 5")
        query(a, "SELECT SQL_CALC_FOUND_ROWS * FROM items WHERE v = 2 LIMIT 1")
        query(b, "SELECT * FROM items WHERE v = 1 LIMIT 2")
        assert one(a, "SELECT FOUND_ROWS()") == 4
        query(a, "SELECT * FROM items WHERE v = 1")
        query(b, "SELECT * FROM items")
        assert one(a, "SELECT FOUND_ROWS()") == 3


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "proxy"])
def test_warnings_are_the_clients_own(pair, direct):
    a, b = pair(direct)
    for _ in range(3):
        query(a, "SELECT CAST('x' AS INT), CAST('y' AS INT)")  # two warnings
        query(b, "SELECT 1")
        assert len(query(a, "SHOW WARNINGS")) == 2
        assert one(a, "SHOW COUNT(*) WARNINGS") == 2
        assert one(a, "SELECT @@warning_count") == 2
        assert query(b, "SHOW WARNINGS") == ()  # never the other client's
        query(b, "SELECT CAST('z' AS INT)")
        query(a, "SELECT COUNT(*) FROM items")  # a statement that uses a table clears them
        query(b, "SELECT COUNT(*) FROM items")
        assert one(a, "SELECT @@warning_count") == 0
        assert query(a, "SHOW WARNINGS") == ()


def test_a_client_whose_connection_was_taken_reads_a_fresh_sessions_values(lab, pair, small_pool):
    a, b = pair()
    with a.cursor() as cur:
        cur.execute("INSERT INTO items (v) VALUES (40)")
        mine = cur.lastrowid
    query(a, "SELECT * FROM items WHERE v = 1")  # leaves nothing that holds the connection
    query(b, "DELETE FROM items WHERE v = 40")  # the only connection, A's, is taken
    query(b, "SELECT CAST('x' AS INT)")
    query(b, "SELECT 1")
    assert one(a, "SELECT ROW_COUNT()") in (0, -1)  # not B's 1
    assert query(a, "SHOW WARNINGS") == ()  # not B's warning
    query(b, "INSERT INTO items (v) VALUES (41)")
    query(b, "SELECT 1")
    assert one(a, "SELECT LAST_INSERT_ID()") == mine  # the session's own, given back to the connection


def _reset(conn) -> None:
    conn.cmd_reset_connection()


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "proxy"])
def test_reset_connection_keeps_the_login_database(lab, direct):
    port = lab.db.port if direct else lab.proxy.port
    opened = [mysql.connector.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD, database=db,
                                      use_pure=True, autocommit=True) for db in ("lab", "other", None)]
    a, b, c = opened
    try:
        for _ in range(3):
            cur = b.cursor()
            cur.execute("SELECT DATABASE()")
            assert cur.fetchall() == [("other",)]
            _reset(a)
            cur = a.cursor()
            cur.execute("SELECT DATABASE()")
            assert cur.fetchall() == [("lab",)]
            cur.execute("SELECT COUNT(*) FROM accounts")  # unqualified tables are the login database's
            assert cur.fetchall() == [(2,)]
            _reset(c)
            cur = c.cursor()
            cur.execute("SELECT DATABASE()")
            assert cur.fetchall() == [(None,)]
            with pytest.raises(mysql.connector.Error) as error:
                cur.execute("SELECT COUNT(*) FROM accounts")
            assert error.value.errno == 1046
    finally:
        for conn in opened:
            with suppress(Exception):
                conn.close()


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "proxy"])
def test_load_data_local_infile_loads(lab, connect, tmp_path, direct):
    """As a session's first statement (read by its task) and as a later one (relayed in callbacks, where the
    database's request for the file goes on to the client as it comes, and the task takes over)."""
    conn = connect(port=lab.db.port if direct else lab.proxy.port, autocommit=True, local_infile=True)
    for first in (1000, 2000):
        data = tmp_path / f"rows-{first}.csv"
        data.write_text("".join(f"{i},{i * 2}\n" for i in range(first, first + 500)))
        with conn.cursor() as cur:
            loaded = cur.execute(f"LOAD DATA LOCAL INFILE '{data}' INTO TABLE items FIELDS TERMINATED BY ','")
            assert loaded == 500
    assert one(conn, "SELECT SUM(v) FROM items WHERE id >= 1000") == sum(
        i * 2 for i in (*range(1000, 1500), *range(2000, 2500)))
    query(conn, "DELETE FROM items WHERE id >= 1000")


def _kill_while_sleeping(db, sleeper, killer, kill_sql: str) -> tuple[float, object]:
    outcome = {}

    def sleep() -> None:
        started = time.monotonic()
        try:
            outcome["result"] = one(sleeper, "SELECT SLEEP(10)")
        except pymysql.err.MySQLError as e:
            outcome["result"] = e.args[0]
        outcome["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=sleep)
    thread.start()
    wait_until(lambda: db.execute("SELECT COUNT(*) FROM information_schema.processlist "
                                  "WHERE info = 'SELECT SLEEP(10)'")[0][0])  # the query runs in the database
    query(killer, kill_sql)
    thread.join(15)
    return outcome["elapsed"], outcome["result"]


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "proxy"])
def test_kill_query_of_the_handshake_id_or_connection_id_stops_the_query(lab, pair, direct):
    a, b = pair(direct)
    elapsed, result = _kill_while_sleeping(lab.db, a, b, f"KILL QUERY {a.thread_id()}")  # what Ctrl-C sends
    assert elapsed < 5 and result == 1317  # Query execution was interrupted
    own = one(a, "SELECT CONNECTION_ID()")
    elapsed, result = _kill_while_sleeping(lab.db, a, b, f"KILL QUERY {own}")
    assert elapsed < 5 and result == 1317
    assert one(a, "SELECT 2") == 2  # the connection stays


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "proxy"])
def test_kill_of_ones_own_connection_ends_it(pair, direct):
    a, b = pair(direct)
    with pytest.raises(pymysql.err.MySQLError) as error:
        query(a, f"KILL {a.thread_id()}")
    assert error.value.args[0] == 1927
    with pytest.raises(pymysql.err.MySQLError):
        query(a, "SELECT 1")
    with pytest.raises(pymysql.err.MySQLError) as error:
        query(b, "KILL QUERY 987654")
    assert error.value.args[0] == 1094


def _oversize(port: int, size: int) -> tuple[int, int]:
    """A statement of `size` bytes on a new connection: (its error code, the next statement's)."""
    conn = pymysql.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD, autocommit=True)
    codes = []
    try:
        for sql in ("SELECT '" + "x" * size + "'", "SELECT 1"):
            with pytest.raises(pymysql.err.MySQLError) as error:
                query(conn, sql)
            codes.append(error.value.args[0])
    finally:
        with suppress(Exception):
            conn.close()
    return codes[0], codes[1]


@pytest.mark.parametrize("limit, over", [(16 << 20, 1024), (1 << 20, 8 << 20)], ids=["16MB+1KB", "1MB+8MB"])
def test_a_packet_over_max_allowed_packet_ends_the_connection_as_the_database_does(lab, limit, over):
    """1153, or the write failing first (2006) when the database closes while the client still writes
    much more; then the connection is closed. The first client of a new proxy too: it reads the limit
    when that client logs in, not from its first statement."""
    lab.db.execute(f"SET GLOBAL max_allowed_packet = {limit}")  # for connections opened from now on
    proxy = RdsProxy("oversize", lambda: lab.settings)
    port = proxy.start()
    try:
        direct, proxied = _oversize(lab.db.port, limit + over), _oversize(port, limit + over)
        assert proxied[0] == direct[0] == (1153 if over < limit else 2006)
        # then gone (0: the driver closed it on its 2006); 2006 or 2013 as the reset reaches the client
        assert direct[1] in (0, 2006, 2013) and proxied[1] in (0, 2006, 2013)
        assert proxy.stats()["statements"] == 1  # PyMySQL's SET autocommit: the packet was refused unread
    finally:
        proxy.stop()
        lab.db.execute("SET GLOBAL max_allowed_packet = DEFAULT")


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "proxy"])
def test_change_user_starts_a_fresh_session_as_that_user(lab, direct):
    port = lab.db.port if direct else lab.proxy.port
    conn = mysql.connector.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD, database="lab",
                                   use_pure=True, autocommit=True)
    other = mysql.connector.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD, database="lab",
                                    use_pure=True, autocommit=True)
    try:
        cur = conn.cursor()
        cur.execute("SET @mine = 7")
        cur.execute("INSERT INTO items (v) VALUES (50)")
        conn.cmd_change_user(username=USER, password=PASSWORD, database="other")
        cur = conn.cursor()
        cur.execute("SELECT DATABASE(), CURRENT_USER(), @mine, LAST_INSERT_ID()")
        assert cur.fetchall() == [("other", f"{USER}@%", None, 0)]
        ocur = other.cursor()
        ocur.execute("SELECT DATABASE()")
        assert ocur.fetchall() == [("lab",)]
        with pytest.raises(mysql.connector.Error) as error:
            conn.cmd_change_user(username=USER, password="wrong", database="lab")
        assert error.value.errno == 1045
    finally:
        for c in (conn, other):
            with suppress(Exception):
                c.close()


def test_a_held_connection_goes_back_to_the_pool_when_the_client_stays_idle(lab, connect):
    from lab_helpers.local.rds.proxy.session_state import HOLD_TIMEOUT
    from tests.rds_proxy.conftest import wait_until

    conn = connect(autocommit=True)
    with conn.cursor() as cur:
        cur.execute("INSERT INTO items (v) VALUES (60)")
        mine = cur.lastrowid
    assert lab.proxy.stats()["backend_in_use"] == 1  # kept for the next statement
    wait_until(lambda: lab.proxy.stats()["backend_in_use"] == 0, timeout=HOLD_TIMEOUT + 2)
    assert one(conn, "SELECT LAST_INSERT_ID()") == mine  # its connection came back to it


@pytest.mark.parametrize("direct, pool", [(True, "any"), (False, "any"), (False, "one connection")],
                         ids=["direct", "proxy", "proxy-pool-of-one"])
def test_found_rows_outlives_the_clients_other_statements_and_is_never_anothers(lab, pair, direct, pool):
    """FOUND_ROWS() stays what the client's last SELECT left through its other statements; through the
    proxy it is that, or a fresh session's when the other client took the connection: never the other's."""
    if pool == "one connection":
        saved, lab.settings.max_connections_percent = lab.settings.max_connections_percent, 10
    try:
        a, b = pair(direct)
        query(a, "SELECT * FROM items WHERE v = 1")
        query(b, "SELECT * FROM items WHERE v = 2")
        query(a, "DO 1")  # no statement but a SELECT (or SHOW) changes FOUND_ROWS()
        query(a, "UPDATE items SET v = v WHERE id = 0")
        found = one(a, "SELECT FOUND_ROWS()")
        assert found == 3 if direct else found in (3, 0)
    finally:
        if pool == "one connection":
            lab.settings.max_connections_percent = saved


@pytest.fixture
def numbered(lab):
    lab.db.execute("CREATE TABLE lab.numbered (id INT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB")
    yield
    lab.db.execute("DROP TABLE lab.numbered")


@pytest.mark.parametrize("direct, pool", [(True, "any"), (False, "any"), (False, "one connection")],
                         ids=["direct", "proxy", "proxy-pool-of-one"])
def test_an_explicit_id_leaves_last_insert_id_as_it_was(lab, pair, numbered, direct, pool):
    """The OK packet carries the id the statement gave (what the driver's lastrowid says), while
    LAST_INSERT_ID() stays the last generated one, with the other client's inserts in between and the
    client's connection taken by the other (a pool of one connection)."""
    if pool == "one connection":
        saved, lab.settings.max_connections_percent = lab.settings.max_connections_percent, 10
    try:
        a, b = pair(direct)
        with a.cursor() as cur:
            cur.execute("INSERT INTO numbered (v) VALUES (1)")
            mine = cur.lastrowid
            cur.execute("INSERT INTO numbered (id, v) VALUES (500, 1)")
            assert cur.lastrowid == 500
        query(b, "INSERT INTO numbered (v) VALUES (2), (2)")
        query(b, "SELECT 1")
        assert one(a, "SELECT LAST_INSERT_ID()") == mine
        assert one(b, "SELECT LAST_INSERT_ID()") == 501
    finally:
        if pool == "one connection":
            lab.settings.max_connections_percent = saved


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "proxy"])
def test_no_backslash_escapes_reaches_the_driver(lab, connect, direct):
    """The OK of `SET sql_mode` carries the status flag a driver escapes by (PyMySQL's own suite checks it)."""
    conn = connect(port=lab.db.port if direct else lab.proxy.port, autocommit=True)
    assert conn.escape("foo'bar") == "'foo\\'bar'"
    query(conn, "SET sql_mode = 'NO_BACKSLASH_ESCAPES'")
    assert conn.escape("foo'bar") == "'foo''bar'"
    assert one(conn, "SELECT " + conn.escape("it's")) == "it's"  # the database reads it as the driver wrote it
    query(conn, "SET sql_mode = DEFAULT")
    assert conn.escape("foo'bar") == "'foo\\'bar'"


def test_a_pooled_connection_the_database_closed_is_replaced(lab, connect):
    """A client's wait_timeout goes with its session to the pooled connection, which the database then
    closes while idle: the next client gets another connection (PyMySQL's suite, test_connection_gone_away)."""
    a = connect(autocommit=True)
    query(a, "SET wait_timeout = 1")
    backend = one(a, "SELECT CONNECTION_ID()")
    gone = "SELECT COUNT(*) = 0 FROM information_schema.processlist WHERE id = %s"
    assert not lab.db.execute(gone, (backend,))[0][0]  # the id is the pooled connection's, in the database
    wait_until(lambda: lab.db.execute(gone, (backend,))[0][0], timeout=10)  # idle past 1 s: closed by the database
    b = connect(autocommit=True)
    assert one(b, "SELECT 2") == 2


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "proxy"])
def test_a_login_to_a_database_that_does_not_exist_is_refused(lab, connect, direct):
    """As MySQL refuses it (aiomysql's own suite, test_issue_792), when the proxy has a connection at hand."""
    port = lab.db.port if direct else lab.proxy.port
    query(connect(port=port, autocommit=True), "SELECT 1")  # the proxy has an idle connection after it
    with pytest.raises(pymysql.err.OperationalError) as error:
        connect(port=port, database="does_not_exist")
    assert error.value.args == (1049, "Unknown database 'does_not_exist'")

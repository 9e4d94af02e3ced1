"""The local RDS Proxy as a learner meets it: PyMySQL clients through the proxy to a private MariaDB."""
from __future__ import annotations

import socket
import threading
import time
import warnings
from datetime import date, datetime
from decimal import Decimal

import pymysql
import pytest

from lab_helpers.local.ports import free_port, is_free
from lab_helpers.local.rds.mariadb import MariaDB
from lab_helpers.local.rds.proxy import ProxySettings, RdsProxy
from tests.database import open_transactions, threads_sampler
from tests.rds_proxy.conftest import PASSWORD, USER, query, wait_until

pytestmark = pytest.mark.integration


def storm(port: int, clients: int = 30) -> list:
    """`clients` PyMySQL clients at once, each connect + `select now(), sleep(0.3)` + close: rows or errors."""
    barrier, outcomes = threading.Barrier(clients), [None] * clients

    def client(i: int) -> None:
        barrier.wait()
        try:
            conn = pymysql.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD, database="lab")
            try:
                outcomes[i] = query(conn, "SELECT NOW(), SLEEP(0.3)")[0]
            finally:
                conn.close()
        except pymysql.MySQLError as e:
            outcomes[i] = e

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


# -- the wire ---------------------------------------------------------------------------------------

def test_values_keep_their_types_and_ok_packets_their_counts(lab, connect):
    conn = connect(autocommit=True)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE kinds (id INT AUTO_INCREMENT PRIMARY KEY, at DATETIME(6), day DATE, "
                    "price DECIMAL(10,2), ratio DOUBLE, raw VARBINARY(8), label VARCHAR(20), nothing INT)")
        assert cur.execute("INSERT INTO kinds (at, day, price, ratio, raw, label) VALUES "
                           "('2024-05-06 07:08:09.123456', '2024-05-06', 12.34, 0.1, x'00ff', '모듈 3')") == 1
        assert cur.lastrowid == 1
        assert cur.execute("INSERT INTO kinds (label) VALUES ('b'), ('c')") == 2
        assert cur.lastrowid == 2  # the first id of a multi-row insert, as MySQL reports it
        assert cur.execute("UPDATE kinds SET ratio = 2.5 WHERE id > 1") == 2
        cur.execute("SELECT * FROM kinds ORDER BY id")
        rows, names = cur.fetchall(), [d[0] for d in cur.description]
    assert names == ["id", "at", "day", "price", "ratio", "raw", "label", "nothing"]
    assert rows[0] == (1, datetime(2024, 5, 6, 7, 8, 9, 123456), date(2024, 5, 6), Decimal("12.34"), 0.1,
                       b"\x00\xff", "모듈 3", None)
    assert rows[1] == (2, None, None, None, 2.5, None, "b", None)
    direct = pymysql.connect(host="127.0.0.1", port=lab.db.port, user=USER, password=PASSWORD, database="lab")
    try:
        assert query(direct, "SELECT * FROM kinds ORDER BY id") == rows
    finally:
        direct.close()


@pytest.mark.parametrize("sql, code", [("SELEC 1", 1064), ("SELECT * FROM no_such_table", 1146)])
def test_server_errors_pass_through_and_the_connection_stays_usable(connect, sql, code):
    conn = connect()
    with pytest.raises(pymysql.err.ProgrammingError) as raised:
        query(conn, sql)
    assert raised.value.args[0] == code
    assert query(conn, "SELECT 1") == ((1,),)


@pytest.mark.parametrize("user, password", [(USER, "wrong"), ("nobody", PASSWORD)])
def test_wrong_credentials_are_denied(connect, user, password):
    """Proxy level: a wrong password and an unknown user, with MySQL's message; the integration test
    test_a_wrong_password_through_the_proxy_is_access_denied covers the cloud's proxy reading its secret."""
    with pytest.raises(pymysql.err.OperationalError) as raised:
        connect(user=user, password=password)
    assert raised.value.args[0] == 1045
    assert "Access denied" in raised.value.args[1]


def test_ping_and_quit(lab, connect):
    conn = connect()
    conn.ping()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # PyMySQL deprecates the argument, Lambdas still use it
        conn.ping(reconnect=True)
    assert lab.proxy.stats()["clients"] == 1
    conn.close()  # COM_QUIT
    wait_until(lambda: lab.proxy.stats()["clients"] == 0)


def test_default_database_follows_the_client_across_backend_connections(connect):
    conn = connect(autocommit=True)
    conn.select_db("other")  # COM_INIT_DB
    holder = connect()
    query(holder, "SELECT 1")  # keeps a backend connection (autocommit off), so `conn` gets another
    assert query(conn, "SELECT DATABASE()") == (("other",),)
    query(conn, "USE lab")
    assert query(conn, "SELECT DATABASE()") == (("lab",),)
    with pytest.raises(pymysql.err.OperationalError) as raised:
        query(conn, "USE no_such_db")
    assert raised.value.args[0] == 1049
    assert query(conn, "SELECT DATABASE()") == (("lab",),)


# -- pooling ----------------------------------------------------------------------------------------

def test_a_storm_through_the_proxy_never_exceeds_the_pool(lab):
    """Proxy level: the pool's bound, seen by the proxy and by the database, with every row intact; notebook 06's
    storm (tests/integration/test_measure.py) covers the same bound set through the RDS API and reached from Lambda,
    where a failure cannot say whether the pool or the wiring broke."""
    assert lab.proxy.stats()["pool_size"] == 5  # max_connections 10 x MaxConnectionsPercent 50 %
    with threads_sampler(lab.db) as database:
        outcomes = storm(lab.proxy.port)
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert not errors
    assert all(isinstance(now, datetime) and slept == 0 for now, slept in outcomes)
    assert database.peak <= 5
    assert lab.proxy.stats()["peak_backend_open"] <= 5


def test_the_same_storm_straight_to_the_database_is_refused(lab):
    """The control of the storm above: without the proxy the same clients are too many, so its pass is the pool's."""
    outcomes = storm(lab.db.port)
    assert any(isinstance(o, pymysql.err.OperationalError) and o.args[0] == 1040 for o in outcomes)


def test_clients_wait_for_a_connection_then_time_out_with_9501(lab, connect):
    lab.settings.connection_borrow_timeout = 1.0
    try:
        holders = [connect() for _ in range(5)]
        for holder in holders:
            query(holder, "SELECT NOW()")  # autocommit off and no commit: each keeps its backend connection
        assert lab.proxy.stats()["backend_in_use"] == 5
        timeouts = lab.proxy.stats()["borrow_timeouts"]
        late = connect()
        started = time.perf_counter()
        with pytest.raises(pymysql.err.OperationalError) as raised:
            query(late, "SELECT 1")
        waited = time.perf_counter() - started
        assert raised.value.args == (9501, "Timed-out waiting to acquire database connection")
        assert 0.9 <= waited < 2.0
        assert lab.proxy.stats()["borrow_timeouts"] == timeouts + 1
        holders[0].commit()
        started = time.perf_counter()
        assert query(connect(), "SELECT 1") == ((1,),)
        assert time.perf_counter() - started < 0.5
    finally:
        lab.settings.connection_borrow_timeout = 120.0


def test_autocommit_clients_share_connections_per_statement(lab, connect):
    conn = connect(autocommit=True)
    query(conn, "SELECT 1")
    assert lab.proxy.stats()["backend_in_use"] == 0  # given back after the statement
    holder = connect()
    held = query(holder, "SELECT CONNECTION_ID()")[0][0]
    assert lab.proxy.stats()["backend_in_use"] == 1
    assert query(conn, "SELECT CONNECTION_ID()")[0][0] != held
    holder.rollback()
    assert lab.proxy.stats()["backend_in_use"] == 0


def kill_backend_connections(db: MariaDB) -> None:
    for (thread_id,) in db.execute("SELECT id FROM information_schema.processlist WHERE user = %s", (USER,)):
        db.execute(f"KILL CONNECTION {thread_id}")


def test_pooled_connections_the_database_closed_are_replaced_unnoticed(lab, connect):
    conn = connect(autocommit=True)
    query(conn, "SELECT 1")
    kill_backend_connections(lab.db)  # e.g. the database restarted or timed them out
    assert query(conn, "SELECT 1") == ((1,),)
    assert lab.proxy.stats()["backend_open"] <= 5


def test_a_backend_connection_lost_mid_transaction_is_discarded(lab, connect):
    conn = connect()
    held = query(conn, "SELECT CONNECTION_ID()")[0][0]
    open_before = lab.proxy.stats()["backend_open"]
    lab.db.execute(f"KILL CONNECTION {held}")
    with pytest.raises(pymysql.err.OperationalError) as raised:
        query(conn, "SELECT 1")
    assert raised.value.args[0] == 2013
    assert lab.proxy.stats()["backend_open"] == open_before - 1
    assert lab.proxy.stats()["backend_in_use"] == 0
    assert query(conn, "SELECT 1") == ((1,),)  # the client's connection to the proxy stays usable


# -- pinning ----------------------------------------------------------------------------------------

PINNING = [
    "SET @x = 1",
    "SET SESSION sql_safe_updates = 1",
    "SELECT @y := 2",
    "CREATE TEMPORARY TABLE scratch (i INT)",
    "LOCK TABLES accounts READ",
    "SELECT GET_LOCK('lab', 0)",
    "PREPARE stmt FROM 'SELECT 1'",
]
NOT_PINNING = ["SET NAMES utf8mb4", "SET autocommit = 1", "SET time_zone = '+09:00'", "USE lab", "SELECT 1"]


@pytest.mark.parametrize("statement", PINNING)
def test_session_state_pins_the_connection_until_the_client_leaves(lab, connect, statement):
    client = connect(autocommit=True)
    query(client, statement)
    assert lab.proxy.stats()["pinned"] == 1
    mine = query(client, "SELECT CONNECTION_ID()")[0][0]
    others = [connect() for _ in range(4)]
    assert mine not in {query(other, "SELECT CONNECTION_ID()")[0][0] for other in others}
    assert query(client, "SELECT CONNECTION_ID()")[0][0] == mine
    open_before = lab.proxy.stats()["backend_open"]
    client.close()
    wait_until(lambda: lab.proxy.stats()["pinned"] == 0)
    assert lab.proxy.stats()["backend_open"] == open_before - 1  # closed with its session state, never pooled


def test_a_pinned_session_keeps_its_user_variables(connect):
    client = connect()
    query(client, "SET @x = 42")
    client.commit()
    others = [connect() for _ in range(4)]
    for other in others:
        assert query(other, "SELECT @x") == ((None,),)
    assert query(client, "SELECT @x") == ((42,),)


@pytest.mark.parametrize("statement", NOT_PINNING)
def test_tracked_state_does_not_pin(lab, connect, statement):
    client = connect(autocommit=True)
    query(client, statement)
    assert lab.proxy.stats()["pinned"] == 0
    assert lab.proxy.stats()["backend_in_use"] == 0


def test_tracked_variables_follow_the_client_and_stay_with_it(connect):
    client = connect(autocommit=True)
    query(client, "SET time_zone = '+09:00'")
    holder = connect()
    query(holder, "SELECT 1")  # keeps a backend connection, so `client` gets another one
    assert query(client, "SELECT @@time_zone") == (("+09:00",),)
    holder.rollback()
    other = connect(autocommit=True)
    assert query(other, "SELECT @@time_zone") == (("+00:00",),)  # set back on the connection `client` used
    with pytest.raises(pymysql.err.OperationalError) as raised:
        query(client, "SET time_zone = 'Nowhere/Else'")
    assert raised.value.args[0] == 1298  # unknown time zone, from the database at once
    assert query(client, "SELECT @@time_zone") == (("+09:00",),)


# -- transactions -----------------------------------------------------------------------------------

@pytest.mark.parametrize("leave", ["close", "drop"])
def test_leaving_inside_a_transaction_rolls_back_and_frees_the_row(lab, connect, leave):
    """Proxy level: COM_QUIT and a vanished client, the row's value put back; the integration test
    test_a_client_gone_inside_a_transaction_leaves_no_lock covers a TLS client of the proxy's own process."""
    locker = connect()
    query(locker, "SELECT balance FROM accounts WHERE id = 1 FOR UPDATE")
    query(locker, "UPDATE accounts SET balance = balance + 1 WHERE id = 1")
    assert open_transactions(lab.db) == 1
    if leave == "close":
        locker.close()
    else:  # the client vanishes without COM_QUIT
        locker._sock.shutdown(socket.SHUT_RDWR)
    wait_until(lambda: open_transactions(lab.db) == 0)
    assert lab.db.execute("SELECT balance FROM lab.accounts WHERE id = 1") == [(100,)]
    other = connect()
    assert query(other, "SELECT balance FROM accounts WHERE id = 1 FOR UPDATE NOWAIT") == ((100,),)
    other.rollback()


def test_begin_holds_the_connection_until_commit(lab, connect):
    conn = connect(autocommit=True)
    query(conn, "BEGIN")
    query(conn, "UPDATE accounts SET balance = balance WHERE id = 2")
    assert lab.proxy.stats()["backend_in_use"] == 1
    conn.commit()
    assert lab.proxy.stats()["backend_in_use"] == 0
    assert open_transactions(lab.db) == 0


# -- targets and lifecycle --------------------------------------------------------------------------

def test_without_a_target_clients_get_a_clear_error(lab, connect):
    settings = ProxySettings(credentials={USER: PASSWORD}, target=None, db_max_connections=10)
    proxy = RdsProxy("no-target", lambda: settings)
    port = proxy.start()
    try:
        conn = connect(port=port)  # the login only needs the secret
        with pytest.raises(pymysql.err.OperationalError) as raised:
            query(conn, "SELECT 1")
        assert raised.value.args[0] == 2003
        assert "no registered target" in raised.value.args[1]
        settings.target = ("127.0.0.1", lab.db.port)  # RegisterDBProxyTargets
        assert query(conn, "SELECT 1") == ((1,),)
    finally:
        proxy.stop()


@pytest.mark.parametrize("case", ["user unknown to the database", "database down"])
def test_backend_refusals_reach_the_client_and_free_the_slot(lab, connect, case):
    target = ("127.0.0.1", free_port() if case == "database down" else lab.db.port)
    with pytest.raises(pymysql.err.OperationalError) as direct:
        pymysql.connect(host=target[0], port=target[1], user="ghost", password="Passw0rd")
    settings = ProxySettings(credentials={"ghost": "Passw0rd"}, target=target, db_max_connections=10,
                             connection_borrow_timeout=1)  # a database that does not answer is retried this long
    proxy = RdsProxy("refused", lambda: settings)
    port = proxy.start()
    try:
        conn = connect(port=port, user="ghost", password="Passw0rd")
        with pytest.raises(pymysql.err.OperationalError) as raised:
            query(conn, "SELECT 1")
        assert raised.value.args == direct.value.args  # e.g. (1698, "Access denied for user 'ghost'@'localhost'")
        assert proxy.stats()["backend_open"] == 0
    finally:
        proxy.stop()


def test_a_target_deregistered_while_the_proxy_reconnects_gives_the_no_target_error(connect):
    """The database hangs up at the proxy's login (it restarts): the proxy tries again; the target is
    deregistered meanwhile. The client logs in and gets RDS Proxy's 'no registered target' error (the
    proxy's retry once raised a TypeError, which broke the client's login)."""
    listener = socket.create_server(("127.0.0.1", 0))
    settings = ProxySettings(credentials={USER: PASSWORD}, target=listener.getsockname()[:2], db_max_connections=10,
                             connection_borrow_timeout=10)

    def hang_up_and_deregister() -> None:
        conn, _ = listener.accept()
        settings.target = None  # DeregisterDBProxyTargets, before the proxy's next try
        conn.close()

    database = threading.Thread(target=hang_up_and_deregister, daemon=True)
    database.start()
    proxy = RdsProxy("deregistered", lambda: settings)
    port = proxy.start()
    try:
        conn = connect(port=port)
        with pytest.raises(pymysql.err.OperationalError) as raised:
            query(conn, "SELECT 1")
        assert raised.value.args[0] == 2003
        assert "no registered target" in raised.value.args[1]
        assert proxy.stats()["backend_open"] == 0
    finally:
        proxy.stop()
        database.join(5)
        listener.close()


def test_stop_frees_the_port_and_closes_backend_connections(lab, connect):
    baseline = lab.db.threads_connected()  # the module proxy's idle connections
    proxy = RdsProxy("short-lived", lambda: lab.settings)
    port = proxy.start()
    busy, idle = connect(port=port), connect(port=port, autocommit=True)
    query(busy, "UPDATE accounts SET balance = balance WHERE id = 2")  # keeps its connection: a transaction
    query(idle, "SELECT 1")  # a second connection, idle in the pool afterwards
    assert lab.db.threads_connected() == baseline + 2
    proxy.stop()
    assert is_free(port)
    wait_until(lambda: lab.db.threads_connected() == baseline)
    assert open_transactions(lab.db) == 0
    assert proxy.stats()["backend_open"] == 0
    with pytest.raises(pymysql.MySQLError):
        query(busy, "SELECT 1")

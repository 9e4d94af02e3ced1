"""RDS Proxy's documented behaviour, each on its own: TLS and RequireTLS, the client limits and
timeouts, SessionPinningFilters, and a database restart hidden from the proxy's clients."""
from __future__ import annotations

import socket
import ssl
import threading
import time
from contextlib import suppress

import mysql.connector
import pymysql
import pytest

from lab_helpers.local.rds.proxy.certificates import CertificateAuthority
from tests.rds_proxy.conftest import PASSWORD, USER, query, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return CertificateAuthority(tmp_path_factory.mktemp("ca")).ensure()


@pytest.fixture
def tls(lab, ca, tmp_path):
    """The module's proxy with a certificate for 'localhost' signed by the local CA."""
    cert, key = ca.issue("lab-proxy", ["lab-proxy.proxy-abc.ap-northeast-2.rds.amazonaws.com"], tmp_path)
    lab.settings.tls = (str(cert), str(key))
    yield ca
    lab.settings.tls = None
    lab.settings.require_tls = False


@pytest.fixture
def setting(lab):
    """setting(name, value): change the proxy's settings for one test."""
    saved = {}

    def change(name: str, value) -> None:
        saved.setdefault(name, getattr(lab.settings, name))
        setattr(lab.settings, name, value)

    yield change
    for name, value in saved.items():
        setattr(lab.settings, name, value)


def test_a_client_verifying_the_certificate_and_host_name_connects(lab, tls, connect):
    conn = connect(host="localhost", ssl_ca=str(tls.cert_path), ssl_verify_cert=True, ssl_verify_identity=True)
    assert query(conn, "SELECT 1") == ((1,),)
    assert conn._sock.version().startswith("TLSv1.")  # the connection to the proxy is encrypted
    # but the client's TLS session ends at the proxy: "SSL session variables are not set for SSL connections to a
    # database using RDS Proxy" (rds-proxy.howitworks.html#rds-proxy-security.tls); not the client's TLS version
    assert query(conn, "SHOW STATUS LIKE 'Ssl_version'") == (("Ssl_version", ""),)
    other = mysql.connector.connect(host="localhost", port=lab.proxy.port, user=USER, password=PASSWORD,
                                    ssl_ca=str(tls.cert_path), ssl_verify_identity=True, use_pure=True)
    try:
        cur = other.cursor()
        cur.execute("SELECT 2")
        assert cur.fetchone() == (2,)
    finally:
        other.close()


def test_a_certificate_for_another_host_name_is_refused(lab, tls, tmp_path):
    cert, key = tls.issue("elsewhere", ["elsewhere.example"], tmp_path, loopback=False)
    lab.settings.tls = (str(cert), str(key))
    with pytest.raises(pymysql.err.OperationalError) as raised:
        pymysql.connect(host="localhost", port=lab.proxy.port, user=USER, password=PASSWORD, connect_timeout=5,
                        ssl_ca=str(tls.cert_path), ssl_verify_cert=True, ssl_verify_identity=True)
    assert "certificate verify failed" in str(raised.value) and "localhost" in str(raised.value)


def test_require_tls_refuses_plaintext_with_3159(lab, tls, connect):
    """Proxy level: the setting on and off on one proxy; test_proxy_local's TLS test covers RequireTLS and the
    endpoint name's certificate as the cloud sets them up."""
    lab.settings.require_tls = True
    with pytest.raises(pymysql.err.OperationalError) as raised:
        connect(ssl_disabled=True)
    assert raised.value.args == (3159, "This RDS Proxy requires TLS connections.")
    conn = connect()  # PyMySQL starts TLS by itself when the server offers it (without verifying)
    assert query(conn, "SELECT 1") == ((1,),)


def test_an_idle_client_is_disconnected_after_idle_client_timeout(lab, connect, setting):
    setting("idle_client_timeout", 0.3)
    conn = connect(autocommit=True)
    assert query(conn, "SELECT 1") == ((1,),)
    wait_until(lambda: lab.proxy.stats()["clients"] == 0)  # the proxy closes it (a query would end the idling)
    with pytest.raises(pymysql.err.OperationalError) as raised:
        query(conn, "SELECT 1")
    assert raised.value.args[0] in (2006, 2013)  # the server has gone away / lost connection


def test_a_shorter_idle_client_timeout_applies_from_the_clients_next_wait(lab, connect, setting):
    setting("idle_client_timeout", 30)
    conn = connect(autocommit=True)
    assert query(conn, "SELECT 1") == ((1,),)
    setting("idle_client_timeout", 0.3)
    assert query(conn, "SELECT 1") == ((1,),)  # a busy client is not idle
    wait_until(lambda: lab.proxy.stats()["clients"] == 0)
    with pytest.raises(pymysql.err.OperationalError) as raised:
        query(conn, "SELECT 1")
    assert raised.value.args[0] in (2006, 2013)


def test_a_client_that_does_not_log_in_is_disconnected(lab, setting):
    setting("handshake_timeout", 0.3)
    with socket.create_connection(("127.0.0.1", lab.proxy.port), timeout=5) as raw:
        assert raw.recv(4096)[4:5] == b"\x0a"  # the greeting
        deadline = time.monotonic() + 5
        while raw.recv(4096):  # nothing sent back: the proxy hangs up
            assert time.monotonic() < deadline
    wait_until(lambda: lab.proxy.stats()["clients"] == 0)


def test_clients_past_the_limit_get_too_many_connections(lab, connect, setting):
    setting("max_client_connections", 2)
    first, second = connect(), connect()
    with pytest.raises(pymysql.err.OperationalError) as raised:
        connect()
    assert raised.value.args == (1040, "Too many connections")
    assert query(first, "SELECT 1") == query(second, "SELECT 1") == ((1,),)
    assert lab.proxy.stats()["refused_clients"] >= 1


def test_exclude_variable_sets_does_not_pin_on_set(lab, connect, setting):
    setting("session_pinning_filters", ("EXCLUDE_VARIABLE_SETS",))
    conn = connect(autocommit=True)
    query(conn, "SET @x = 1")
    query(conn, "SET SESSION max_join_size = 5")
    assert lab.proxy.stats()["pinned"] == 0 and lab.proxy.stats()["backend_in_use"] == 0


def test_a_database_restart_keeps_the_proxy_s_clients_connected(lab, connect, setting):
    """Statements issued while the database restarts wait for it, then run; the client never reconnects. Proxy
    level; test_proxy_local's reboot and killed-engine tests cover the cloud's side (statuses, the engine restarted)."""
    setting("connection_borrow_timeout", 30)
    conn = connect(autocommit=True)
    assert query(conn, "SELECT 1") == ((1,),)
    direct = pymysql.connect(host="127.0.0.1", port=lab.db.port, user=USER, password=PASSWORD)
    restart = threading.Thread(target=lab.db.restart)
    restart.start()
    try:
        wait_until(lambda: not lab.db.alive() or not restart.is_alive(), timeout=10)
        assert query(conn, "SELECT 2") == ((2,),)  # issued during the restart: waits for the database
    finally:
        restart.join()
    assert query(conn, "SELECT 3") == ((3,),)
    with pytest.raises(pymysql.err.OperationalError):  # a direct client lost its connection
        query(direct, "SELECT 1")
    assert lab.proxy.stats()["clients"] >= 1


def test_the_proxy_process_serves_and_reports(tmp_path, lab):
    """The cloud's proxy runs in a process of its own that reads its settings file again when it changes."""
    from lab_helpers.local.rds.proxy.process import ProxyProcess

    process = ProxyProcess("own-process", tmp_path)
    process.write(lab.settings)
    process.start()
    try:
        conn = pymysql.connect(host="127.0.0.1", port=process.port, user=USER, password=PASSWORD, database="lab")
        assert query(conn, "SELECT 1") == ((1,),)
        assert process.stats()["clients"] == 1 and process.stats()["pool_size"] == 5
        from dataclasses import replace

        process.write(replace(lab.settings, max_connections_percent=20))
        wait_until(lambda: process.stats()["pool_size"] == 2)
        conn.close()
    finally:
        process.stop()
    assert process.stats() is None



# -- the master user, as RDS has it ------------------------------------------------------------------

def test_the_master_user_cannot_read_host_files_stop_the_server_or_change_globals(lab, connect):
    conn = connect(autocommit=True)
    assert query(conn, "SELECT LOAD_FILE('/etc/passwd')") == ((None,),)
    for statement in ("SELECT 1 INTO OUTFILE '/tmp/lab-outfile-test'", "SHUTDOWN", "SET GLOBAL wait_timeout = 100"):
        with pytest.raises(pymysql.MySQLError) as raised:
            query(conn, statement)
        assert raised.value.args[0] in (1045, 1227), statement  # access denied: no FILE, SHUTDOWN, SUPER
    assert lab.db.alive() and lab.proxy.stats()["pinned"] == 0
    assert query(conn, "SELECT @@GLOBAL.secure_file_priv") == ((str(lab.db.files_dir) + "/",),)


def test_the_master_user_reads_but_cannot_write_the_grant_tables(lab, connect):
    conn = connect(autocommit=True)
    assert query(conn, f"SELECT COUNT(*) FROM mysql.user WHERE User = '{USER}'") == ((1,),)
    for statement in ("INSERT INTO mysql.db (Host, Db, User) VALUES ('%', 'lab', 'intruder')",
                      f"UPDATE mysql.global_priv SET Priv = '{{}}' WHERE User = '{USER}'",
                      "DELETE FROM mysql.user", "CREATE TABLE mysql.extra (x INT)", "DROP TABLE mysql.db"):
        with pytest.raises(pymysql.MySQLError) as raised:
            query(conn, statement)
        assert raised.value.args[0] == 1142, statement  # command denied for that table
    # ...while its own databases, users and grants work as on RDS
    query(conn, "CREATE DATABASE master_user_check")
    try:
        query(conn, "CREATE TABLE master_user_check.t (x INT)")
        query(conn, "INSERT INTO master_user_check.t VALUES (1)")
        query(conn, "CREATE USER IF NOT EXISTS 'reader'@'%' IDENTIFIED BY 'reader-password-1'")
        query(conn, "GRANT SELECT ON master_user_check.* TO 'reader'@'%'")
        assert query(conn, "SELECT x FROM master_user_check.t") == ((1,),)
    finally:
        query(conn, "DROP USER IF EXISTS 'reader'@'%'")
        query(conn, "DROP DATABASE master_user_check")


def test_init_query_runs_on_every_new_database_connection(lab, connect):
    """Proxy level: each new backend connection runs it; test_proxy_local's test_init_query_set_through_the_rds_api
    covers the RDS API's InitQuery reaching the proxy."""
    from dataclasses import replace

    from lab_helpers.local.rds.proxy import RdsProxy

    settings = replace(lab.settings, init_query="SET time_zone = '+07:00', sql_mode = 'ANSI_QUOTES'")
    own = RdsProxy("init-query", lambda: settings)
    port = own.start()
    try:
        conn = connect(port=port, autocommit=True)
        assert query(conn, "SELECT @@time_zone, @@sql_mode") == (("+07:00", "ANSI_QUOTES"),)
        query(conn, "SET time_zone = '+01:00'")  # the client's own setting wins over the defaults
        assert query(conn, "SELECT @@time_zone") == (("+01:00",),)
        settings.init_query = "SET no_such_variable = 1"  # the database refuses it: the client is told
        conn.close()  # its connection goes idle, nobody's any more (a live client's last one is kept for it)
        first = connect(port=port)
        query(first, "SELECT 1")  # the idle connection, opened before: it keeps it (autocommit off)
        second = connect(port=port)
        with pytest.raises(pymysql.err.OperationalError) as raised:
            query(second, "SELECT 1")  # a new connection, whose InitQuery the database refuses
        assert raised.value.args[0] == 1193  # Unknown system variable
        assert own.stats()["backend_open"] == 1
    finally:
        own.stop()


def _improved_function(monkeypatch, host: str, port: int, ca_file: str):
    """handler/module3 as Lambda loads it: DB_HOST and DB_PORT from its environment, the runtime's trust store
    from SSL_CERT_FILE (as the local Lambda environments have it); `host` resolves to the proxy."""
    import importlib.util

    from lab_helpers.core import paths

    monkeypatch.setenv("DB_HOST", host)
    monkeypatch.setenv("DB_PORT", str(port))
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-2")
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda name, *a, **k: real("127.0.0.1" if name == host else name,
                                                                         *a, **k))
    spec = importlib.util.spec_from_file_location("improved_function", paths.handler_file("module3"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_improved_function_verifies_the_proxys_host_name_not_only_its_chain(lab, tls, tmp_path, monkeypatch):
    """A certificate the local CA signed (a valid chain) but for another host name is refused; for DB_HOST,
    accepted. PyMySQL's ssl_verify_identity alone, without a CA file, would have accepted both."""
    name = "lab-proxy.proxy-abc.ap-northeast-2.rds.amazonaws.com"
    cert, key = tls.issue("lab-proxy", [name], tmp_path, loopback=False)
    lab.settings.tls = (str(cert), str(key))
    creds = {"username": USER, "password": PASSWORD}

    impostor = _improved_function(monkeypatch, "other-proxy.proxy-abc.ap-northeast-2.rds.amazonaws.com",
                                  lab.proxy.port, str(tls.cert_path))
    with pytest.raises(pymysql.err.OperationalError) as raised:
        impostor.connect(creds)
    assert "certificate verify failed" in str(raised.value)
    assert "Hostname mismatch" in str(raised.value) or "doesn't match" in str(raised.value)

    function = _improved_function(monkeypatch, name, lab.proxy.port, str(tls.cert_path))
    conn = function.connect(creds)
    try:
        assert query(conn, "SELECT 1") == ((1,),)
        assert conn._sock.version().startswith("TLSv1.")
    finally:
        conn.close()


def test_a_client_ending_its_tls_session_cleanly_never_stalls_the_others(lab, tls, connect):
    """A driver's orderly TLS shutdown (close_notify) while the proxy waits for its next command, the TCP
    connection left open: that session ends, and another client is served at once."""
    closing = connect(host="localhost", ssl_ca=str(tls.cert_path))
    assert query(closing, "SELECT 1") == ((1,),)
    tls_socket = closing._sock
    tls_socket.settimeout(1.0)
    with suppress(OSError, ssl.SSLError):
        tls_socket.unwrap()  # sends close_notify; the TCP connection stays open
    wait_until(lambda: lab.proxy.stats()["clients"] == 0)  # the proxy ended that session
    other = connect(host="localhost", ssl_ca=str(tls.cert_path), connect_timeout=1, read_timeout=1)
    assert query(other, "SELECT 2") == ((2,),)


def half_closed_answer(port: int) -> bytes:
    """What a client gets that sends a query and at once shuts down its side of the connection (its
    last message, as a driver exiting mid-query would leave it), until the server closes."""
    conn = pymysql.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD, database="lab")
    sock = conn._sock
    sock.settimeout(5)
    query_packet = b"\x03SELECT 40 + 2"
    sock.sendall(len(query_packet).to_bytes(3, "little") + b"\x00" + query_packet)
    sock.shutdown(socket.SHUT_WR)
    received = b""
    with suppress(ConnectionError):
        while chunk := sock.recv(65536):
            received += chunk
    sock.close()
    return received


def test_a_client_that_half_closes_after_its_query_gets_the_answer_and_its_session_ends(lab):
    """The proxy answers what it read before the client's FIN, as the database does, then ends the session
    (the connection closed: recv() ends) and keeps no client."""
    direct, through_proxy = half_closed_answer(lab.db.port), half_closed_answer(lab.proxy.port)
    assert b"40 + 2" in direct and b"\x0242" in direct  # the column's name, and the row: "42"
    assert b"40 + 2" in through_proxy and b"\x0242" in through_proxy
    wait_until(lambda: lab.proxy.stats()["clients"] == 0 and lab.proxy.stats()["backend_in_use"] == 0)

"""The relay of the usual statement in the connections' callbacks (fast_path.py): it answers what the
task answered, statements sent together are answered in order, a response the network cuts into pieces
arrives whole, a response from a closed connection or one the proxy cannot read is never passed on, and a
client that leaves while its statement runs frees its connection."""
from __future__ import annotations

import logging
import socket
import threading
import time

import pymysql
import pytest

from lab_helpers.local.rds.proxy import ProxySettings, RdsProxy, busy_poll
from tests.rds_proxy.conftest import PASSWORD, USER, query, wait_until
from tests.rds_proxy.interposer import Interposer

pytestmark = pytest.mark.integration


def packet(payload: bytes, seq: int = 0) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([seq]) + payload


def a_session(port: int) -> list:
    """What a client reads in a session of ordinary statements: results, counts, ids, an error."""
    conn = pymysql.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD, database="lab",
                           autocommit=True)
    seen: list = []
    try:
        with conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS fast_rows")
            cur.execute("CREATE TABLE fast_rows (id INT AUTO_INCREMENT PRIMARY KEY, word VARCHAR(20))")
            for word in ("one", "two", "three"):
                seen.append(cur.execute("INSERT INTO fast_rows (word) VALUES (%s)", (word,)))
                seen.append(cur.lastrowid)
            seen.append(query(conn, "SELECT LAST_INSERT_ID()"))
            seen.append(cur.execute("UPDATE fast_rows SET word = UPPER(word) WHERE id > 1"))
            seen.append(query(conn, "SELECT ROW_COUNT()"))
            seen.append(query(conn, "SELECT id, word FROM fast_rows ORDER BY id"))
            seen.append(query(conn, "SELECT FOUND_ROWS()"))
            for _ in range(50):
                seen.append(query(conn, "SELECT 1"))
            with pytest.raises(pymysql.err.ProgrammingError) as refused:
                cur.execute("SELECT * FROM no_such_table")
            seen.append(refused.value.args[0])
            seen.append(query(conn, "SELECT 2"))
            cur.execute("DROP TABLE fast_rows")
    finally:
        conn.close()
    return seen


def test_the_usual_statements_are_answered_in_callbacks_as_the_database_answers_them(lab):
    before = lab.proxy.stats()["statements_in_callbacks"]
    through_proxy = a_session(lab.proxy.port)
    assert through_proxy == a_session(lab.db.port)
    assert through_proxy[6] == ((3,),) and through_proxy[-2] == 1146
    # The 50 SELECT 1 and most of the others never woke the session's task.
    assert lab.proxy.stats()["statements_in_callbacks"] - before >= 55


def pipelined_answers(port: int) -> list:
    """Three statements sent in one write before any answer is read, then their answers."""
    conn = pymysql.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD, database="lab",
                           autocommit=True, read_timeout=10)
    try:
        statements = (b"SELECT 1", b"SELECT 'two'", b"SELECT 3 FROM DUAL WHERE FALSE")
        conn._sock.sendall(b"".join(packet(b"\x03" + sql) for sql in statements))
        answers = []
        for _ in statements:
            conn._next_seq_id = 1  # each answer is numbered from its command's packet (0)
            conn._read_query_result()
            answers.append(conn._result.rows)
        assert query(conn, "SELECT 4") == ((4,),)  # the connection goes on
        return answers
    finally:
        conn.close()


@pytest.fixture
def proxy_behind(lab):
    """A proxy of its own whose connections to the database pass an Interposer (`shape`, `answer`)."""
    made = []

    def _make(**hop_kwargs) -> RdsProxy:
        hop = Interposer(lab.db.port, **hop_kwargs)
        settings = ProxySettings(credentials={USER: PASSWORD}, target=("127.0.0.1", hop.port),
                                 db_max_connections=10, max_connections_percent=30)
        proxy = RdsProxy("interposed-proxy", lambda: settings)
        made.append((proxy, hop))
        proxy.start()
        return proxy

    yield _make
    for proxy, hop in made:
        proxy.stop()
        hop.close()


def in_pieces(data: bytes) -> list[bytes]:
    """The first 30 bytes three at a time (a header cut in two, a message cut after its first byte), the rest
    in 20 KB pieces."""
    return [data[i:i + 3] for i in range(0, min(len(data), 30), 3)] + [
        data[i:i + 20000] for i in range(30, len(data), 20000)]


def a_longer_result(port: int) -> tuple:
    """About 110 KB: passed on as it comes, then (past FAST_RESPONSE_LIMIT) by the session's task."""
    conn = pymysql.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD, database="lab",
                           autocommit=True, read_timeout=30)
    try:
        query(conn, "SELECT 1")  # (the next statement is relayed in callbacks)
        return query(conn, "SELECT seq, REPEAT(CHAR(65 + seq % 26), 100) FROM seq_1_to_1000")
    finally:
        conn.close()


def test_a_response_cut_into_pieces_arrives_whole(lab, proxy_behind):
    """What arrives of a response goes on to the client before the proxy has read it: cut anywhere (in a
    packet's header, after a message's first byte, past where the session's task takes over), the client
    still gets the database's response, byte for byte, and nothing else."""
    proxy = proxy_behind(shape=in_pieces)
    before = proxy.stats()["statements_in_callbacks"]
    assert a_session(proxy.port) == a_session(lab.db.port)
    assert proxy.stats()["statements_in_callbacks"] - before >= 55
    longer = a_longer_result(proxy.port)
    assert longer == a_longer_result(lab.db.port) and len(longer) == 1000
    wait_until(lambda: proxy.stats()["clients"] == 0 and proxy.stats()["backend_in_use"] == 0)


def test_a_response_that_ends_past_the_callbacks_limit_arrives_whole(proxy_behind, connect, monkeypatch):
    """Its first pieces went on as they came, the piece that ends it takes it past FAST_RESPONSE_LIMIT:
    the rest goes on (a limit of 100 bytes here, for a response of about 200)."""
    from lab_helpers.local.rds.proxy import fast_path

    monkeypatch.setattr(fast_path, "FAST_RESPONSE_LIMIT", 100)
    proxy = proxy_behind(shape=in_pieces)
    conn = connect(port=proxy.port, autocommit=True, read_timeout=10)
    assert query(conn, "SELECT 1") == ((1,),)  # (its next statement is relayed in callbacks)
    before = proxy.stats()["statements_in_callbacks"]
    assert query(conn, "SELECT REPEAT('x', 150)") == (("x" * 150,),)
    assert query(conn, "SELECT 2") == ((2,),)
    assert proxy.stats()["statements_in_callbacks"] == before + 2


# What a database may send on its own as it closes a connection (KILL, shutdown, wait_timeout): an error
CONNECTION_KILLED = packet(b"\xff" + (1927).to_bytes(2, "little") + b"#70100Connection was killed")
TIMED_OUT = packet(b"\xff" + (4031).to_bytes(2, "little") + b"#HY000The client was disconnected by the server "
                   b"because of inactivity", seq=1)


def test_a_statement_on_a_pooled_connection_the_database_had_closed_runs_on_another(proxy_behind, connect):
    """An answer that starts with an error is read before it goes on: when it says the database had closed
    the pooled connection (the statement never ran), the client gets nothing of it, and its statement is
    answered on another connection."""
    closed = []

    def time_out_once(data: bytes) -> bytes | None:
        if b"on a closed one" in data and not closed:
            closed.append(data)
            return TIMED_OUT
        return None

    proxy = proxy_behind(answer=time_out_once)
    conn = connect(port=proxy.port, autocommit=True, read_timeout=10)
    assert query(conn, "SELECT 1") == ((1,),)  # (its next statement is relayed in callbacks)
    before = proxy.stats()["statements_in_callbacks"]
    assert query(conn, "SELECT 'on a closed one'") == (("on a closed one",),)
    assert closed and proxy.stats()["statements_in_callbacks"] == before  # (finished by the session's task)
    assert query(conn, "SELECT 2") == ((2,),)


def test_a_response_the_proxy_cannot_read_is_an_error_for_that_statement_only(proxy_behind, connect):
    """A response that starts with an empty message (no MySQL server sends one) is not passed on: the
    statement is tried once more on another connection, then answered with 2013 (lost connection), as a
    broken database connection is; both connections are closed, and the client's session goes on."""
    proxy = proxy_behind(shape=lambda data: [packet(b"", seq=1)] if b"unreadable" in data else [data])
    conn = connect(port=proxy.port, autocommit=True, read_timeout=10)
    assert query(conn, "SELECT 1") == ((1,),)  # (its next statement is relayed in callbacks)
    opened = proxy.stats()["backend_open"]
    with pytest.raises(pymysql.err.OperationalError) as lost:
        query(conn, "SELECT 'unreadable'")
    assert lost.value.args[0] == 2013
    assert query(conn, "SELECT 2") == ((2,),)
    assert proxy.stats()["backend_in_use"] == 0 and proxy.stats()["backend_open"] <= opened


def test_an_error_right_after_a_response_ends_that_session_only(proxy_behind, connect, caplog):
    """Should the database send something right after a response, in the same read, the client has it too
    (what arrives goes on before it is read): its session ends there, as its connection would directly,
    and the database connection is closed, never given to anyone else."""
    caplog.set_level(logging.INFO, "lab_helpers.local.rds.proxy")
    proxy = proxy_behind(shape=lambda data: [data + CONNECTION_KILLED] if b"then an error" in data else [data])
    other = connect(port=proxy.port, autocommit=True)
    victim = connect(port=proxy.port, autocommit=True, read_timeout=10)
    assert query(victim, "SELECT 2") == ((2,),)  # (its next statement is relayed in callbacks)
    assert query(victim, "SELECT 'then an error'") == (("then an error",),)
    with pytest.raises(pymysql.err.Error):  # the error (out of turn), or the closed connection
        query(victim, "SELECT 1")
    # (the client may have read it all before the proxy, which passed it on first, has read it)
    wait_until(lambda: "the database sent more than its response" in caplog.text)
    for n in range(5):  # on every connection of the pool
        assert query(other, f"SELECT {n}") == ((n,),)
    wait_until(lambda: proxy.stats()["clients"] == 1 and proxy.stats()["backend_in_use"] == 0)


def test_statements_sent_together_are_answered_in_order(lab):
    assert pipelined_answers(lab.proxy.port) == pipelined_answers(lab.db.port) == [((1,),), (("two",),), ()]


def test_a_client_that_leaves_while_its_statement_runs_frees_its_connection(lab, connect):
    """The statement's answer finds the client gone: its session ends and the connection goes back to the
    pool (the next client gets it)."""
    conn = pymysql.connect(host="127.0.0.1", port=lab.proxy.port, user=USER, password=PASSWORD, database="lab",
                           autocommit=True)
    conn._sock.sendall(packet(b"\x03SELECT SLEEP(0.3)"))
    wait_until(lambda: lab.proxy.stats()["backend_in_use"] == 1)
    conn._sock.shutdown(socket.SHUT_RDWR)
    conn._sock.close()
    wait_until(lambda: lab.proxy.stats()["clients"] == 0 and lab.proxy.stats()["backend_in_use"] == 0)
    assert query(connect(), "SELECT 5") == ((5,),)


def test_an_unexpected_error_in_a_callback_ends_that_session_only(lab, connect, monkeypatch, caplog):
    """A bug met while relaying a statement in callbacks ends that client's session (its connection closed,
    the error logged), never the proxy's other sessions, and leaves no connection in use."""
    from lab_helpers.local.rds.proxy import fast_path

    other = connect(autocommit=True)
    victim = connect(autocommit=True, read_timeout=10)
    assert query(victim, "SELECT 1") == ((1,),)  # its next statement is relayed in callbacks
    note = fast_path.session_state.note

    def broken_note(session, *args):
        if session.connection_id == victim.server_thread_id[0]:
            raise RuntimeError("a bug")
        note(session, *args)

    monkeypatch.setattr(fast_path.session_state, "note", broken_note)
    assert query(victim, "SELECT 1") == ((1,),)  # its answer goes out first; the bookkeeping after it fails
    with pytest.raises(pymysql.err.OperationalError) as lost:
        query(victim, "SELECT 1")
    assert lost.value.args[0] in (2013, 2006)  # the connection closed
    assert "the relay of a response failed" in caplog.text
    assert query(other, "SELECT 6") == ((6,),)
    wait_until(lambda: lab.proxy.stats()["clients"] == 1 and lab.proxy.stats()["backend_in_use"] == 0)



def loop_cpu_seconds(proxy: RdsProxy) -> float:
    """CPU time the proxy's event loop thread has used."""
    thread = next(t for t in threading.enumerate() if t.name == f"rds-proxy-{proxy.name}")
    assert thread.ident is not None
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def test_one_clients_statements_keep_the_loop_polling_and_it_sleeps_once_the_client_stops(lab, connect,
                                                                                         monkeypatch):
    monkeypatch.setattr(busy_poll, "PAUSES", (0, 0))  # (a busy machine may take the CPU from a poll: no pause after)
    conn = connect(autocommit=True)
    before = lab.proxy.stats()

    def polled() -> bool:  # (within a second: a pause of polling from before this test ends by then)
        for _ in range(20):
            assert query(conn, "SELECT 1") == ((1,),)
        after = lab.proxy.stats()
        return after["busy_polls"] > before["busy_polls"] and after["busy_poll_seconds"] > before["busy_poll_seconds"]

    wait_until(polled, timeout=3)
    used = loop_cpu_seconds(lab.proxy)
    time.sleep(0.5)
    assert loop_cpu_seconds(lab.proxy) - used < 0.1  # asleep, not polling


def test_clients_taking_turns_do_not_make_the_loop_poll(lab, connect):
    one, another = connect(), connect()
    for conn in (one, another):  # both in a transaction at once: each has a connection of its own (its home) after
        conn.begin()
        query(conn, "SELECT 1")
    for conn in (one, another):
        conn.commit()
        conn.autocommit(True)
    before, started = lab.proxy.stats(), time.monotonic()
    for _ in range(100):
        assert query(one, "SELECT 1") == ((1,),)
        assert query(another, "SELECT 2") == ((2,),)
    after = lab.proxy.stats()
    assert after["statements_in_callbacks"] - before["statements_in_callbacks"] >= 190
    # Each statement comes within busy_poll.QUIET of the other client's (a pause of the machine's may let one poll:
    # for busy_poll.WINDOW). Polling for them would take most of the time.
    assert after["busy_poll_seconds"] - before["busy_poll_seconds"] < (time.monotonic() - started) * 0.2

"""The relay of the usual statement in the connections' callbacks (fast_path.py): it answers what the
task answered, statements sent together are answered in order, and a client that leaves while its
statement runs frees its connection."""
from __future__ import annotations

import socket

import pymysql
import pytest

from tests.rds_proxy.conftest import PASSWORD, USER, query, wait_until

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


def test_what_is_kept_of_statements_stays_bounded():
    """Each statement text's plan is kept for the next time it comes (how a client repeats itself), but no more
    than PLANS_KEPT of them, and never a long statement's: clients that send ever new texts grow nothing."""
    from lab_helpers.local.rds.proxy import fast_path

    for i in range(fast_path.PLANS_KEPT + 100):
        fast_path._plan(packet(b"\x03" + f"SELECT {i}".encode()))
    assert len(fast_path._plans) == fast_path.PLANS_KEPT
    assert packet(b"\x03SELECT 99") not in fast_path._plans  # the oldest went first
    assert fast_path._plans[packet(b"\x03SELECT 4100")].found.pin_reason is None
    use = packet(b"\x03USE lab")
    assert fast_path._plan(use) is None and fast_path._plans[use] is None  # the task's (it changes the database)
    assert len(fast_path._plans) == fast_path.PLANS_KEPT
    long_statement = packet(b"\x03SELECT '" + b"x" * 600 + b"'")
    assert fast_path._plan(long_statement) is not None and long_statement not in fast_path._plans

"""What a statement leaves in the database session that the client may read next: LAST_INSERT_ID(),
ROW_COUNT(), FOUND_ROWS() and the warnings (SHOW WARNINGS, SHOW COUNT(*) WARNINGS, @@warning_count).

RDS Proxy documents that calling ROW_COUNT, FOUND_ROWS and LAST_INSERT_ID "sometimes causes pinning";
it documents nothing else about them, so a client gets what it gets from MySQL directly, never a
value of another client's session. The proxy keeps them with the session this way:

- Affinity: each backend connection remembers the session that ran the last statement on it (its
  owner), and a session its last connection (its home). A session borrows its home again when it is
  idle; other sessions take someone's home only when no other connection is idle and the pool is
  full. What the previous statement left is then the session's own.
- Hold: after a response that leaves something other than a fresh session's values (an insert id,
  affected rows, warnings, an error, or a SELECT with SQL_CALC_FOUND_ROWS) the session keeps its
  connection for its next statement, as ProxySQL's auto_increment_delay_multiplex does, for at most
  HOLD_TIMEOUT: then the connection goes back to the pool, still the session's home.
- LAST_INSERT_ID() lasts until the next insert that generates an id. The proxy follows each
  session's and each connection's value from the OK packets' insert id, and gives the session's value
  to a connection with `DO LAST_INSERT_ID(n)` before a statement that reads it there. An OK packet's
  insert id may also be an id the statement gave explicitly (LAST_INSERT_ID() then stays as it was),
  and LAST_INSERT_ID(n) sets it in any statement: after those the connection's value is unsure, and
  when another session takes that connection the value is read there first (`SELECT LAST_INSERT_ID()`)
  and becomes its owner's.
- A statement that reads ROW_COUNT(), FOUND_ROWS() or warnings on a connection another session used
  last (its home was taken), or whose last SELECT was not the session's own (FOUND_ROWS() outlives
  every statement but a SELECT or SHOW; the proxy's own SELECTs set it too), runs on a connection
  reset to a fresh session (COM_RESET_CONNECTION, then the session's state again): it reads a fresh
  session's values, never another client's.
"""
from __future__ import annotations

from . import protocol as p
from .backend import Backend, SessionState
from .session_view import SessionView

# Seconds a held connection waits for the client's next statement before it goes back to the pool (a
# warm client that stays idle must not keep a connection; ProxySQL bounds its delay the same way).
HOLD_TIMEOUT = 1.0

# Lower-case texts of statements that read what the previous statement left.
_READS_DIAGNOSTICS = ("row_count", "found_rows", "warning", "error")


def reads_diagnostics(sql: str) -> bool:
    """Whether a statement may read ROW_COUNT(), FOUND_ROWS(), warnings or errors of the one before."""
    lower = sql.lower()
    return any(marker in lower for marker in _READS_DIAGNOSTICS)


def reads_last_insert_id(sql: str) -> bool:
    return "last_insert_id" in sql.lower()


class Outcome:
    """What the final packet of a response says about the session: whether it carries an insert id, whether
    it sets FOUND_ROWS(), and whether the connection must stay with the client for its next statement."""
    __slots__ = ("insert_id", "hold", "sets_found_rows")

    def __init__(self, last_packet: bytes, sql: str | None):
        self.insert_id = 0
        self.hold = False
        self.sets_found_rows = False
        payload = last_packet[4:]
        if p.is_ok(payload):
            affected, pos = p.lenenc_int(payload, 1)
            self.insert_id, pos = p.lenenc_int(payload, pos)
            warnings = int.from_bytes(payload[pos + 2:pos + 4], "little")
            self.hold = bool(affected or self.insert_id or warnings)
            self.sets_found_rows = sql is not None and sql.lstrip()[:6].lower() == "select"  # SELECT ... INTO
        elif p.is_eof(payload):
            warnings = int.from_bytes(payload[1:3], "little")
            self.hold = bool(warnings) or bool(  # "SELECT SQL_CALC_FOUND_ROWS" is 26 characters at least
                sql is not None and len(sql) >= 26 and "calc_found_rows" in sql.lower())
            self.sets_found_rows = True  # a result set: SELECT, SHOW
        elif p.is_err(payload):
            self.hold = True  # SHOW WARNINGS and SHOW ERRORS show the error


def _foreign(session: SessionView, backend: Backend) -> bool:
    """Whether another session's statement ran last on this connection (a fresh session's never did)."""
    return backend.owner is not session and not (backend.owner is None and session.fresh)


def needs_values(session: SessionView, backend: Backend, sql: str, borrowed: bool) -> bool:
    """Whether `give_session_values` has anything to do before this statement on this connection."""
    owner, foreign = backend.owner, _foreign(session, backend)
    if not foreign and backend.found_rows_of is session and backend.last_insert_id == session.last_insert_id:
        return False  # the usual case: the session's own connection
    return bool(foreign and owner is not None and backend.insert_id_unsure) or (
        borrowed and (foreign or backend.found_rows_of is not session) and reads_diagnostics(sql)) or (
        backend.last_insert_id != session.last_insert_id and reads_last_insert_id(sql))


async def give_session_values(session: SessionView, backend: Backend, sql: str, borrowed: bool) -> None:
    """Before a statement: what it may read of the statements before (session_state.py) is this
    session's, not that of the session that used this connection last."""
    if not needs_values(session, backend, sql, borrowed):
        return
    owner, foreign = backend.owner, _foreign(session, backend)
    if foreign and owner is not None and backend.insert_id_unsure:
        # The previous session's LAST_INSERT_ID() is sure only here: read it before it is replaced.
        if owner in session.proxy.sessions and owner.home in (backend, None):  # its last statement ran here
            owner.last_insert_id = await _read_last_insert_id(backend)
            backend.last_insert_id, backend.found_rows_of = owner.last_insert_id, None  # that SELECT set it
        else:  # it left, or went on elsewhere: the value here is nobody's, given afresh when read
            backend.last_insert_id = -1
        backend.insert_id_unsure = False
    if borrowed and reads_diagnostics(sql) and (foreign or backend.found_rows_of is not session):
        await _fresh_session(session, backend)
    if backend.last_insert_id != session.last_insert_id and reads_last_insert_id(sql):
        await backend.command(bytes([p.COM_QUERY]) + f"DO LAST_INSERT_ID({session.last_insert_id})".encode())
        backend.last_insert_id, backend.insert_id_unsure = session.last_insert_id, False


async def _read_last_insert_id(backend: Backend) -> int:
    rows: list[bytes] = []
    await backend.command(bytes([p.COM_QUERY]) + b"SELECT LAST_INSERT_ID()", rows.append)
    return int(p.lenenc_bytes(rows[-2], 0)[0])


async def _fresh_session(session: SessionView, backend: Backend) -> None:
    """Reset a borrowed connection to a fresh session (COM_RESET_CONNECTION), then give it InitQuery
    and this session's state: what the statement reads is a fresh session's, never another's."""
    await backend.command(bytes([p.COM_RESET_CONNECTION]))
    await backend.command(bytes([p.COM_QUERY]) + b"SELECT 1 FROM DUAL WHERE FALSE")  # MariaDB keeps FOUND_ROWS()
    backend.state, backend.last_insert_id, backend.owner = SessionState(database=backend.state.database), 0, \
        session
    backend.found_rows_of, backend.insert_id_unsure = session, False  # a fresh session's FOUND_ROWS(): 0
    init_query = session.proxy.settings().init_query
    if init_query:
        await backend.command(bytes([p.COM_QUERY]) + init_query.encode())
    await backend.align(session.state)


def note(session: SessionView, backend: Backend, last_packet: bytes, sql: str | None) -> None:
    """After a response: this connection holds what this session's statement left."""
    outcome = Outcome(last_packet, sql)
    backend.owner, session.home, session.fresh, session.held = session, backend, False, outcome.hold
    if outcome.sets_found_rows:
        backend.found_rows_of = session
    if outcome.insert_id:  # generated (LAST_INSERT_ID()), or given explicitly (LAST_INSERT_ID() unchanged)
        session.last_insert_id = backend.last_insert_id = outcome.insert_id
        backend.insert_id_unsure = True
    elif sql is not None and reads_last_insert_id(sql):  # LAST_INSERT_ID(n) sets it
        backend.insert_id_unsure = True

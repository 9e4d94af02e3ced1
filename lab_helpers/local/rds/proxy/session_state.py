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
from .statements import Traits

# Seconds a held connection waits for the client's next statement before it goes back to the pool (a
# warm client that stays idle must not keep a connection; ProxySQL bounds its delay the same way).
HOLD_TIMEOUT = 1.0


def _foreign(session: SessionView, backend: Backend) -> bool:
    """Whether another session's statement ran last on this connection (a fresh session's never did)."""
    return backend.owner is not session and not (backend.owner is None and session.fresh)


def needs_values(session: SessionView, backend: Backend, traits: Traits, borrowed: bool) -> bool:
    """Whether `give_session_values` has anything to do before this statement on this connection."""
    owner, foreign = backend.owner, _foreign(session, backend)
    if not foreign and backend.found_rows_of is session and backend.last_insert_id == session.last_insert_id:
        return False  # the usual case: the session's own connection
    return bool(foreign and owner is not None and backend.insert_id_unsure) or (
        borrowed and (foreign or backend.found_rows_of is not session) and traits.reads_diagnostics) or (
        backend.last_insert_id != session.last_insert_id and traits.reads_last_insert_id)


async def give_session_values(session: SessionView, backend: Backend, traits: Traits, borrowed: bool) -> None:
    """Before a statement: what it may read of the statements before (session_state.py) is this
    session's, not that of the session that used this connection last."""
    if not needs_values(session, backend, traits, borrowed):
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
    if borrowed and traits.reads_diagnostics and (foreign or backend.found_rows_of is not session):
        await _fresh_session(session, backend)
    if backend.last_insert_id != session.last_insert_id and traits.reads_last_insert_id:
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


def note(session: SessionView, backend: Backend, last: bytes, traits: Traits | None) -> None:
    """After a response whose last message is `last` (headers included; the statement's traits: None for
    a command that is not a statement): this connection holds what this session's statement left, and the
    session keeps the connection for its next statement when that is something else than a fresh session's
    (an insert id, affected rows, warnings, an error, SQL_CALC_FOUND_ROWS)."""
    size = len(last) - 4  # the last message's payload (it ends the response)
    kind = last[4] if size > 0 else -1
    insert_id, sets_found_rows = 0, False
    if kind == 0x00:  # OK
        affected, pos = p.lenenc_int(last, 5)
        insert_id, pos = p.lenenc_int(last, pos)
        warnings = int.from_bytes(last[pos + 2:pos + 4], "little")
        hold = bool(affected or insert_id or warnings)
        sets_found_rows = traits is not None and traits.select  # SELECT ... INTO
    elif kind == 0xFE and size < 9:  # the EOF that ends a result set (SELECT, SHOW)
        hold = bool(last[5] or last[6]) if size >= 3 else False  # its warnings
        hold = hold or (traits is not None and traits.calc_found_rows)
        sets_found_rows = True
    else:
        hold = kind == 0xFF  # SHOW WARNINGS and SHOW ERRORS show the error
    backend.owner, session.home, session.fresh, session.held = session, backend, False, hold
    if sets_found_rows:
        backend.found_rows_of = session
    if insert_id:  # generated (LAST_INSERT_ID()), or given explicitly (LAST_INSERT_ID() unchanged)
        session.last_insert_id = backend.last_insert_id = insert_id
        backend.insert_id_unsure = True
    elif traits is not None and traits.reads_last_insert_id:  # LAST_INSERT_ID(n) sets it
        backend.insert_id_unsure = True

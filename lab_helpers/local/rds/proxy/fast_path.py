"""The relay of a client's usual statement in the connections' callbacks: no task switch on the hot path.

Between two commands a session's task waits in `FastPath.next_command`. Meanwhile what the client
sends is looked at as it arrives, in its connection's callback (channel.Link.handler): a COM_QUERY that
changes nothing the proxy tracks (statements.classify finds no USE, SET or KILL), whose connection is
ready for it without waiting (the one the session holds, or its idle home, already in the session's
state and holding the session's own LAST_INSERT_ID() and FOUND_ROWS(): session_state.needs_values) goes
to the database there and then, and the response is read in the database connection's callback as
it arrives (response.Scan) and passed on with the same bookkeeping as the task's (session_state.note,
the transaction state, the pool). This is how most statements are relayed; what a raw byte relay
spends is most of what it costs.

Anything else is the task's, as before: the callback wakes it (`next_command` returns) and it reads
the message itself. A response that does not end soon (longer than FAST_RESPONSE_LIMIT), an error
saying the pooled connection was closed, a lost connection or LOAD DATA LOCAL INFILE is finished by a
task (`ClientSession.respond`, reading the response again from its start: nothing of it was passed on).
"""
from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from . import protocol as p
from . import session_state
from .backend import Backend
from .protocol import MysqlError, ProtocolError
from .response import LOCAL_INFILE, Response, Scan
from .session_view import SessionView
from .statements import PINNING_STATEMENT_LENGTH, Classified, classify

logger = logging.getLogger(__name__)

FAST_RESPONSE_LIMIT = 64 * 1024  # bytes of a response read in callbacks at most; a longer one is a task's
FAST_MESSAGE_LIMIT = PINNING_STATEMENT_LENGTH + 5  # a longer statement pins (and is the task's to relay)


class _Command:
    """The statement being relayed in callbacks."""
    __slots__ = ("message", "sql", "found", "backend", "borrowed", "scan")

    def __init__(self, message: bytes, sql: str, found: Classified, backend: Backend, borrowed: bool):
        self.message, self.sql, self.found = message, sql, found
        self.backend, self.borrowed = backend, borrowed
        self.scan = Scan(p.COM_QUERY, borrowed)


class FastPath:
    """One session's relay in callbacks (see the module's text)."""

    def __init__(self, session: SessionView):
        self.session = session
        self.link = session.client.link
        self._parked: asyncio.Future[None] | None = None  # the session's task, waiting for a command of its own
        self._command: _Command | None = None  # a statement on its way (in callbacks, or finished by a task)
        self._finishing: asyncio.Task[None] | None = None

    async def next_command(self) -> None:
        """Relay in callbacks what can be, until a message the task must read itself is whole in the client's
        buffer (or the client ended): then return, and the task reads it."""
        self._parked = asyncio.get_running_loop().create_future()
        self.link.handler = self._pump
        try:
            self._pump()
            await self._parked
        finally:
            self.link.handler = None
            self._parked = None

    def stop(self) -> None:
        """The session ends: a statement still on its way loses its connection (closed: the response is nobody's)."""
        command = self._command
        if self._finishing is not None:
            self._finishing.cancel()
        if command is not None:
            command.backend.channel.link.handler = None
            if self.session.backend is command.backend:
                self.session.drop_backend()
            self._command = None

    def _end_session(self, why: str) -> None:
        """Something went wrong that the session cannot answer: it ends (its task reads the end and cleans up)."""
        logger.info("RDS Proxy %s: a session of %s ends: %s", self.session.proxy.name, self.session.user, why)
        self.link.buffer.clear()  # nothing more of this client is read
        self.link.eof = True
        self.session.close()

    # -- the client's side ---------------------------------------------------------------------
    def _pump(self) -> None:
        """Something arrived from the client (or the client ended, or a statement was answered)."""
        if self._command is not None or self._parked is None or self._parked.done():
            return
        try:
            self._next()
        except Exception:  # a bug here must end this session only, never leave it waiting for nothing
            logger.exception("RDS Proxy %s: the relay of a statement failed", self.session.proxy.name)
            self._abandon()

    def _abandon(self) -> None:
        """After an unexpected error in a callback: the statement's connection is closed and the session ends."""
        self.stop()
        self._end_session("an unexpected error in the relay")
        self._to_task()

    def _next(self) -> None:
        link = self.link
        buffer = link.buffer
        if len(buffer) >= 4:
            length = buffer[0] | buffer[1] << 8 | buffer[2] << 16
            if length > FAST_MESSAGE_LIMIT:
                self._to_task()  # a long message: the task reads it (and checks it against max_allowed_packet)
                return
            if len(buffer) >= 4 + length:
                if not link.writing_paused and self._start(length):
                    return
                self._to_task()
                return
        if link.eof:
            self._to_task()
        elif len(buffer) < FAST_MESSAGE_LIMIT:
            link.resume_reading()

    def _to_task(self) -> None:
        self.link.handler = None
        if self._parked is not None and not self._parked.done():
            self._parked.set_result(None)

    def _start(self, length: int) -> bool:
        """Send the whole message at the buffer's start to the database now, if it is a statement this
        relay takes and its connection is ready (else False, and nothing changed)."""
        session, buffer = self.session, self.link.buffer
        limit = session.proxy.pool.max_allowed_packet
        if buffer[4] != p.COM_QUERY or limit is None or length > limit or session.unchecked_database:
            return False
        sql = buffer[5:4 + length].decode("utf-8", errors="replace")
        try:
            found = classify(sql)
        except MysqlError:
            return False  # the task answers it with the error
        if found.use is not None or found.sets or found.kill is not None:
            return False
        backend = session.backend
        borrowed = backend is None

        def ready(b: Backend) -> bool:
            return b.state == session.state and (
                bool(session.pinned) or not session_state.needs_values(session, b, sql, borrowed))

        if backend is None:
            backend = session.proxy.pool.take_now(session.key, session.state.database, session.home, ready)
            if backend is None:
                return False
            session.backend = backend
        elif not ready(backend):
            return False
        # The command is the session's now: what the task does when it reads one (session.run, _command).
        raw = bytes(buffer[:4 + length])
        del buffer[:4 + length]
        client = session.client
        client.seq, client.raw = (raw[3] + 1) & 0xFF, raw
        session.begin_command(p.COM_QUERY)
        session.proxy.statements += 1
        command = self._command = _Command(raw[4:], sql, found, backend, borrowed)
        backend_link = backend.channel.link
        try:
            backend.channel.write_raw(raw)
        except ConnectionError:
            self._finish_in_task(command)
            return True
        session.busy = True
        backend_link.handler = self._on_response
        backend_link.resume_reading()  # (a long response before may have left it paused)
        if backend_link.buffer or backend_link.eof:
            self._on_response()
        return True

    # -- the database's side -------------------------------------------------------------------
    def _on_response(self) -> None:
        """Something arrived from the database for the statement on its way (or its connection ended)."""
        command = self._command
        if command is None:
            return
        try:
            self._read_response(command)
        except Exception:  # (as in _pump)
            logger.exception("RDS Proxy %s: the relay of a response failed", self.session.proxy.name)
            self._abandon()

    def _read_response(self, command: _Command) -> None:
        backend = command.backend
        link = backend.channel.link
        try:
            status = command.scan.advance(link.buffer)
        except ProtocolError:
            status = None
        if status is None:
            if link.eof or command.scan.pos > FAST_RESPONSE_LIMIT or len(link.buffer) > FAST_RESPONSE_LIMIT:
                self._finish_in_task(command)
            return
        if command.scan.stale or status == LOCAL_INFILE:
            self._finish_in_task(command)
            return
        link.handler = None
        session, end = self.session, command.scan.pos
        response = bytes(link.buffer[:end])  # as the database sent it
        del link.buffer[:end]
        session.busy = False
        session.proxy.statements_in_callbacks += 1
        session_state.note(session, backend, response[command.scan.start:], command.sql)
        session.after(status, command.found.pin_reason, command.found.ends_transaction)
        with suppress(ConnectionError):  # the client left: its session ends at its next read
            session.client.write_raw(response)  # (once the connection went back to the pool: session.forward)
        self._done()

    def _finish_in_task(self, command: _Command) -> None:
        """What the callbacks cannot finish, a task finishes (the response read again from its start)."""
        command.backend.channel.link.handler = None
        self.session.busy = False
        self.link.handler = None  # the client's connection is read by that task now, if it must be
        self._finishing = asyncio.get_running_loop().create_task(self._finish(command))

    async def _finish(self, command: _Command) -> None:
        session = self.session
        try:
            try:
                found = command.found
                out = Response(session.client, watch_stale=command.borrowed)  # (nothing was passed on yet)
                if not await session.respond(command.backend, out, command.message, found.pin_reason,
                                             found.ends_transaction, command.sql, command.borrowed, 1):
                    await session.forward(command.message, found.pin_reason, found.ends_transaction, command.sql,
                                          session.client.raw, first_attempt=2)
            except MysqlError as e:
                session.client.write(p.err_packet(e))
            await session.client.flush()
        except (ProtocolError, ConnectionError) as e:
            self._end_session(str(e) or type(e).__name__)
        except Exception:  # (as in _pump)
            logger.exception("RDS Proxy %s: the relay of a statement failed", session.proxy.name)
            self._finishing = None  # (this task: not to be cancelled by stop())
            self.stop()
            self._end_session("an unexpected error in the relay")
        finally:
            self._finishing = None
        self._done()

    def _done(self) -> None:
        """The statement was answered: the session waits for the next one (which may be there already)."""
        self._command = None
        self.session.end_command()
        if self._parked is not None and not self._parked.done():
            self.link.handler = self._pump
            self._pump()

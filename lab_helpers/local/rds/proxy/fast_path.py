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

What decides a statement's way is worked out once per statement text (statements.Plan, kept by the
message as it came). Each side writes first and keeps its books after: the statement goes to the
database before the session marks it begun; what arrives of the answer goes to the client before it is
read (unless it starts with an ERR, which may say the pooled connection was closed: then it is read
whole first), and before the connection goes back to the pool. Nothing else runs on the proxy's loop in
between (the client's next command, or anyone's, is read after), so the order is the one a client can
observe, and the reading and the bookkeeping are off the round trip. The database sends nothing between
two responses but an error as it closes a connection; should one come right after a response, in the
same read, the client has it too: its session ends (as its connection would directly).

Anything else is the task's, as before: the callback wakes it (`next_command` returns) and it reads
the message itself. A response that does not end soon (longer than FAST_RESPONSE_LIMIT), an error
saying the pooled connection was closed, a lost connection or LOAD DATA LOCAL INFILE is finished by a
task (`ClientSession.respond`, reading the response again from its start and passing on only what the
client does not have yet).
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
from .statements import PINNING_STATEMENT_LENGTH, Plan, plan_of

logger = logging.getLogger(__name__)

FAST_RESPONSE_LIMIT = 64 * 1024  # bytes of a response read in callbacks at most; a longer one is a task's
FAST_MESSAGE_LIMIT = PINNING_STATEMENT_LENGTH + 5  # a longer statement pins (and is the task's to relay)


class FastPath:
    """One session's relay in callbacks (see the module's text)."""

    def __init__(self, session: SessionView):
        self.session = session
        self.link = session.client.link
        self._parked: asyncio.Future[None] | None = None  # the session's task, waiting for a command of its own
        # The statement on its way (in callbacks, or finished by a task): its connection (None: no statement),
        # its message as the client sent it, its plan, whether its connection was borrowed for it, its response.
        self._backend: Backend | None = None
        self._raw = b""
        self._plan: Plan | None = None
        self._borrowed = False
        self._scan: Scan | None = None
        self._sent = 0  # bytes of the response the client has already
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
        backend = self._backend
        if self._finishing is not None:
            self._finishing.cancel()
        if backend is not None:
            backend.channel.link.handler = None
            if self.session.backend is backend:
                self.session.drop_backend()
            self._backend = None

    def _end_session(self, why: str) -> None:
        """Something went wrong that the session cannot answer: it ends (its task reads the end and cleans up)."""
        logger.info("RDS Proxy %s: a session of %s ends: %s", self.session.proxy.name, self.session.user, why)
        self.link.buffer.clear()  # nothing more of this client is read
        self.link.eof = True
        self.session.close()

    # -- the client's side ---------------------------------------------------------------------
    def _pump(self) -> None:
        """Something arrived from the client (or the client ended, or a statement was answered)."""
        if self._backend is not None or self._parked is None or self._parked.done():
            return
        try:
            if not self._start():
                self._wait_or_wake()
        except Exception:  # a bug here must end this session only, never leave it waiting for nothing
            logger.exception("RDS Proxy %s: the relay of a statement failed", self.session.proxy.name)
            self._abandon()

    def _abandon(self, why: str = "an unexpected error in the relay") -> None:
        """After an unexpected error in a callback: the statement's connection is closed and the session ends."""
        self.stop()
        self._end_session(why)
        self._to_task()

    def _wait_or_wake(self) -> None:
        """No statement could start: wait for more of the client's message, or wake the task to read it."""
        link = self.link
        buffer = link.buffer
        if len(buffer) >= 4:
            length = buffer[0] | buffer[1] << 8 | buffer[2] << 16
            if length > FAST_MESSAGE_LIMIT or len(buffer) >= 4 + length:
                self._to_task()  # a long message (checked against max_allowed_packet there), or one not for here
                return
        if link.eof:
            self._to_task()
        elif len(buffer) < FAST_MESSAGE_LIMIT:
            link.resume_reading()

    def _to_task(self) -> None:
        self.link.handler = None
        if self._parked is not None and not self._parked.done():
            self._parked.set_result(None)

    def _start(self) -> bool:
        """Send the whole message at the client's buffer's start to the database now, if it is a statement this
        relay takes and its connection is ready (else False, and nothing changed)."""
        link = self.link
        buffer = link.buffer
        size = len(buffer)
        if size < 5 or buffer[4] != p.COM_QUERY or link.writing_paused:
            return False
        length = buffer[0] | buffer[1] << 8 | buffer[2] << 16
        end = 4 + length
        if size < end or length > FAST_MESSAGE_LIMIT:
            return False
        raw = bytes(buffer) if size == end else bytes(buffer[:end])
        plan = plan_of(raw)
        if plan.changes_session:
            return False
        session = self.session
        pool = session.proxy.pool
        limit = pool.max_allowed_packet
        if limit is None or length > limit or session.unchecked_database:
            return False
        backend = session.backend
        borrowed = backend is None
        if backend is None:
            backend = pool.idle_now(session.key, session.state.database, session.home)
            if backend is None:
                return False
        # Ready: in the session's state, and holding the session's own values (session_state.py).
        if backend.state != session.state or not (
                session.pinned or not session_state.needs_values(session, backend, plan.traits, borrowed)):
            return False
        backend_link = backend.channel.link
        try:
            backend_link.write(raw)  # first: the bookkeeping below is done while the database works
            sent = True
        except ConnectionError:
            sent = False
        # The connection and the command are the session's now: what the task does when it reads one
        # (session.run, _command).
        if borrowed:
            pool.take(backend)
            session.backend = backend
        del buffer[:end]
        client = session.client
        client.seq, client.raw = (raw[3] + 1) & 0xFF, raw
        session.begin_command(p.COM_QUERY)
        session.proxy.statements += 1
        self._backend, self._raw, self._plan, self._borrowed = backend, raw, plan, borrowed
        self._scan, self._sent = Scan(p.COM_QUERY, borrowed), 0
        if not sent:
            self._finish_in_task()
            return True
        session.busy = True
        session.proxy.busy_poll.poke(self)  # (the answer is read by a loop that is awake: busy_poll.py)
        backend_link.handler = self._on_response
        backend_link.resume_reading()  # (a long response before may have left it paused)
        if backend_link.buffer or backend_link.eof:
            self._on_response()
        return True

    # -- the database's side -------------------------------------------------------------------
    def _on_response(self) -> None:
        """Something arrived from the database for the statement on its way (or its connection ended)."""
        backend = self._backend
        if backend is None:
            return
        try:
            self._read_response(backend)
        except Exception:  # (as in _pump)
            logger.exception("RDS Proxy %s: the relay of a response failed", self.session.proxy.name)
            self._abandon()

    def _read_response(self, backend: Backend) -> None:
        link = backend.channel.link
        buffer = link.buffer
        scan = self._scan
        assert scan is not None and self._plan is not None  # (set with the statement)
        size, sent = len(buffer), self._sent
        # What arrived goes on first, then it is read: unless the response starts with an ERR (it may say the
        # pooled connection was closed: the statement is then tried on another).
        if sent < size <= FAST_RESPONSE_LIMIT and (sent or (size >= 5 and buffer[4] != 0xFF)):
            with suppress(ConnectionError):  # the client left: its session ends at its next read
                self.session.client.write_raw(bytes(buffer[sent:]) if sent else bytes(buffer))
            self._sent = sent = size
        try:
            status = scan.advance(buffer)
        except ProtocolError:
            self._finish_in_task()  # (it meets the same error, as with a broken connection)
            return
        if status is None:
            if link.eof or scan.pos > FAST_RESPONSE_LIMIT or size > FAST_RESPONSE_LIMIT:
                self._finish_in_task()
            return
        if sent > scan.pos:  # the database sent something after the response, and the client has it too
            self._abandon("the database sent more than its response")
            return
        if scan.stale or status == LOCAL_INFILE:
            self._finish_in_task()
            return
        link.handler = None
        session, found = self.session, self._plan.found
        if sent < scan.pos:  # (a response that starts with an ERR, or the rest past FAST_RESPONSE_LIMIT)
            with suppress(ConnectionError):  # (as above)
                session.client.write_raw(bytes(buffer[sent:scan.pos]))
        last = bytes(buffer[scan.start:scan.pos])  # the response's last message
        del buffer[:scan.pos]
        # The bookkeeping after the client has its answer: nothing else runs on the proxy's loop before it is
        # done (the connection is back in the pool before the client's next command, or anyone's, is read).
        session.busy = False
        session.proxy.statements_in_callbacks += 1
        session_state.note(session, backend, last, self._plan.traits)
        session.after(status, found.pin_reason, found.ends_transaction)
        session.proxy.busy_poll.poke(self)  # (and so is the client's next statement)
        self._done()

    def _finish_in_task(self) -> None:
        """What the callbacks cannot finish, a task finishes (the response read again from its start)."""
        backend, plan = self._backend, self._plan
        assert backend is not None and plan is not None  # (a statement is on its way)
        backend.channel.link.handler = None
        self.session.busy = False
        self.link.handler = None  # the client's connection is read by that task now, if it must be
        self._finishing = asyncio.get_running_loop().create_task(
            self._finish(backend, self._raw[4:], plan, self._borrowed, self._sent))

    async def _finish(self, backend: Backend, message: bytes, plan: Plan, borrowed: bool, sent: int) -> None:
        session, found = self.session, plan.found
        try:
            try:
                out = Response(session.client, watch_stale=borrowed, sent=sent)
                if not await session.respond(backend, out, message, found.pin_reason, found.ends_transaction,
                                             plan.traits, borrowed, 1):
                    await session.forward(message, found.pin_reason, found.ends_transaction, plan.traits,
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
        self._backend, self._plan, self._scan = None, None, None
        self.session.end_command()
        if self._parked is not None and not self._parked.done():
            self.link.handler = self._pump
            self._pump()

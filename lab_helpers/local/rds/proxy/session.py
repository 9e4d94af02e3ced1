# Over 450 lines: one class, ClientSession: the state of one client connection (its login, the connection it borrows
# at transaction boundaries, its pinning) that every method reads and changes; what stands alone is out already
# (session_state.py, session_commands.py, statements.py, backend.py, fast_path.py).
"""One client connection to the proxy: its login, its session state, and the relay of its commands.

- Clients log in with mysql_native_password against the proxy's secret(s), read at each login; a
  client that asks for another plugin (MySQL 8's caching_sha2_password) is switched to it. A user whose
  secret has IAMAuth REQUIRED, and every user of a proxy with DefaultAuthScheme IAM_AUTH, logs in with an IAM
  authentication token instead (iam_auth.py).
- Connections are shared at transaction boundaries, known from the database's status flags: a
  client borrows one per statement with autocommit on, and keeps it while the database says it is
  in a transaction; with autocommit off, from its first statement until COMMIT or ROLLBACK.
- The tracked session state (default database, character set and collation, autocommit, tracked
  variables) is given to whichever connection a client borrows; a SET of only those is checked on
  the database and recorded, not pinned. MySQL 8 collations the engine lacks map to its nearest.
- A pinned client keeps its connection until it leaves; the connection is then closed, so its
  session state never reaches another client. A client that leaves in a transaction is rolled back.
- What a statement leaves for the next one (LAST_INSERT_ID(), ROW_COUNT(), FOUND_ROWS(), warnings)
  stays the client's (session_state.py); KILL, LOAD DATA LOCAL INFILE and COM_CHANGE_USER are
  answered as MySQL answers them (session_commands.py).
- The session's task reads and answers the commands; the usual statement is relayed in the connections'
  callbacks instead, with the same bookkeeping, while the task waits (fast_path.py).
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import ssl
from contextlib import suppress
from dataclasses import replace

from . import iam_auth, session_commands, session_state
from . import protocol as p
from .backend import Backend, Key, SessionState, relay
from .channel import Channel
from .charsets import DEFAULT_NAMES, engine_collation, known_names, names_for
from .fast_path import FastPath
from .idle_timer import IdleTimer
from .protocol import MysqlError, PacketTooLarge, ProtocolError
from .response import ERR_STATUS, LOCAL_INFILE, Response, relay_response
from .session_view import ProxyCore
from .settings import ProxySettings
from .statements import Assignment, Traits, boolean, plan_of, unquote

logger = logging.getLogger(__name__)

LOST_CONNECTION = 2013  # MySQL's "Lost connection to MySQL server during query"
TLS_REQUIRED = 3159  # RDS Proxy's "This RDS Proxy requires TLS connections."
ACCESS_DENIED = p.ACCESS_DENIED
BAD_DATABASE, DATABASE_ACCESS_DENIED = 1049, 1044  # Unknown database; Access denied for user to database
RESPONSE_COMMANDS = (p.COM_QUERY, p.COM_STMT_EXECUTE)  # answered through response.relay_response
LEARN_TIMEOUT = 1.0  # seconds a login waits for the connection that tells max_allowed_packet


class ClientSession:
    """One client connection: its session state, and the backend connection it holds, if any."""

    def __init__(self, proxy: ProxyCore, client: Channel):
        self.proxy = proxy
        self.client = client
        self.user: str | None = None
        self.capabilities = 0
        self.key: Key = ("", 0)  # (user, session capabilities), set at login
        self.state = SessionState()
        self.initial_names: tuple[str, str | None] = DEFAULT_NAMES
        self.backend: Backend | None = None
        self.in_transaction = False
        self.pinned: str | None = None  # why, once pinned
        self.unchecked_database = False  # the login's database, until a backend connection accepted it
        self.login_database: str | None = None  # the database COM_RESET_CONNECTION keeps, as MySQL does
        self.tls = False  # the client started TLS
        self.connection_id = 0  # the id in the handshake (what KILL names)
        self.seed = b""  # the handshake's scramble (COM_CHANGE_USER answers it too)
        self.busy = False  # a statement of this session is running on the database
        self.waiting = False  # between commands: waiting for the client's next one
        self.commands = 0  # commands received
        # What the last statement left (session_state.py): the connection it ran on, whether the session
        # keeps that connection for its next statement, its LAST_INSERT_ID(), and whether it is new.
        self.home: Backend | None = None
        self.held = False
        self.last_insert_id = 0
        self.fresh = True
        self.idle: IdleTimer | None = None  # IdleClientTimeout, once logged in
        self.fast = FastPath(self)  # the relay of the usual statement in callbacks (fast_path.py)

    async def run(self) -> None:
        try:
            if not await self._login():
                return
            self.proxy.sessions.add(self)
            task = asyncio.current_task()
            assert task is not None  # a session runs as a task
            idle = self.idle = IdleTimer(asyncio.get_running_loop(), task,
                                         lambda: self.proxy.settings().idle_client_timeout)
            idle.waiting = True  # IdleClientTimeout: a client that sends nothing for so long is closed
            while True:
                self.client.limit = self.proxy.pool.max_allowed_packet
                try:
                    await self.fast.next_command()  # the usual statements are relayed meanwhile, in callbacks
                    message = await self.client.read()
                except PacketTooLarge:  # as MySQL does: the error, and the connection closed unread
                    self.client.write(p.err_packet(MysqlError(
                        1153, "Got a packet bigger than 'max_allowed_packet' bytes", "08S01")))
                    await self.client.flush()
                    self.client.close_unread()
                    return
                except asyncio.CancelledError:
                    if not idle.expired:
                        raise
                    task.uncancel()  # the idle timer's own cancellation, handled here
                    logger.info("RDS Proxy %s closed a client of %s idle for IdleClientTimeout", self.proxy.name,
                                self.user)
                    return
                if not message or message[0] == p.COM_QUIT:
                    return
                self.begin_command(message[0])
                try:
                    await self._command(message)
                except MysqlError as e:
                    self.client.write(p.err_packet(e))
                await self.client.flush()
                self.end_command()
        except (ProtocolError, ConnectionError):
            pass  # the client left (or broke the protocol): nothing to answer
        finally:
            if self.idle is not None:
                self.idle.stop()
            self.fast.stop()
            await self._leave()
            self.client.close()

    def begin_command(self, command: int) -> None:
        """A command of the client's was read (here, or by the relay in callbacks)."""
        self.waiting = False
        self.commands += 1
        if command != p.COM_PING:
            self.held = False  # this command's result replaces what the last one left
        if self.idle is not None:
            self.idle.waiting = False

    def end_command(self) -> None:
        """The command was answered: the session waits for the client's next one."""
        self.waiting = True
        if self.idle is not None:
            self.idle.waiting = True
        if self.held:  # kept for the next statement, but not for a client that stays idle
            asyncio.get_running_loop().call_later(session_state.HOLD_TIMEOUT, self._end_hold, self.commands)

    def close(self) -> None:
        """End the session from outside (the proxy stops): its next read fails and it cleans up."""
        self.client.close()

    # -- login -------------------------------------------------------------------------------------
    async def _login(self) -> bool:
        """The handshake (with TLS when the client starts it) within the handshake timeout."""
        settings = self.proxy.settings()
        try:
            return await asyncio.wait_for(self._handshake(settings), settings.handshake_timeout)
        except TimeoutError:
            logger.info("RDS Proxy %s closed a client that did not log in within %.0f s", self.proxy.name,
                        settings.handshake_timeout)
            return False

    async def _handshake(self, settings: ProxySettings) -> bool:
        seed = self.seed = bytes(secrets.choice(range(1, 128)) for _ in range(20))
        collation = 255 if settings.server_version.startswith("8.") else p.UTF8MB4_GENERAL_CI
        context = self.proxy.tls_context()
        offered = p.PROXY_CAPABILITIES | (p.CLIENT_SSL if context else 0)
        self.connection_id = self.proxy.next_connection_id()
        self.client.write(p.handshake_v10(settings.server_version, self.connection_id, seed,
                                          offered, collation, p.SERVER_STATUS_AUTOCOMMIT))
        await self.client.flush()
        try:
            response = p.parse_handshake_response(await self.client.read())
            if response.ssl_request:
                if context is None:
                    raise MysqlError(2026, "SSL connection error: the proxy has no certificate", "HY000")
                await self.client.start_tls(context)
                self.tls = True
                response = p.parse_handshake_response(await self.client.read())
            if settings.require_tls and not self.tls:
                raise MysqlError(TLS_REQUIRED, "This RDS Proxy requires TLS connections.", "HY000")
        except MysqlError as e:
            self.client.write(p.err_packet(e))
            await self.client.flush()
            return False
        except (ssl.SSLError, OSError) as e:
            logger.info("RDS Proxy %s: a client's TLS handshake failed: %s", self.proxy.name, e)
            return False
        host = self.client.peer_host
        if settings.token_login(response.user):  # IAMAuth REQUIRED or end-to-end IAM: a token (iam_auth.py)
            refusal = await iam_auth.login(self.client, response, settings, self.tls, host, self.proxy.name)
            if refusal is not None:
                self.client.write(p.err_packet(refusal))
                await self.client.flush()
                return False
        elif not await self._password_login(response, seed, host):
            return False
        self.user = response.user
        self.capabilities = response.capabilities & p.PROXY_CAPABILITIES
        self.key = (self.user, self.capabilities & p.SESSION_CAPABILITIES)
        self.initial_names = self.state.names = names_for(response.collation)
        # The login needs no database connection (the pool may be busy): the database named here is
        # checked on the first one the client borrows.
        self.state.database = self.login_database = response.database
        self.unchecked_database = response.database is not None
        if self.proxy.pool.max_allowed_packet is None:
            await self._learn_packet_limit()
        if self.unchecked_database and not await self._check_login_database():
            return False
        self.client.write(p.ok_packet(self.status()))
        await self.client.flush()
        return True

    async def _password_login(self, response: p.HandshakeResponse, seed: bytes, host: str) -> bool:
        auth = response.auth
        if response.plugin and response.plugin != p.NATIVE_PASSWORD:
            self.client.write(p.auth_switch_request(p.NATIVE_PASSWORD, seed))
            await self.client.flush()
            auth = await self.client.read()
        password = self.proxy.settings().credentials.get(response.user)
        if password is None or not hmac.compare_digest(auth, p.native_password_scramble(password, seed)):
            self.client.write(p.err_packet(MysqlError(
                ACCESS_DENIED, f"Access denied for user '{response.user}'@'{host}' "
                               f"(using password: {'YES' if auth else 'NO'})", "28000")))
            await self.client.flush()
            return False
        return True

    async def _check_login_database(self) -> bool:
        """The login's database, checked now as MySQL checks it (1049 refuses the login) when a connection of
        the client's user is idle; else on the first connection the client borrows (a login never waits for one)."""
        if not any(b.key == self.key for b in self.proxy.pool.idle):
            return True
        try:
            await self._borrow()
        except MysqlError as e:
            if e.code not in (BAD_DATABASE, DATABASE_ACCESS_DENIED):
                return True  # no target yet, the database down: the first statement tells the client
            self.client.write(p.err_packet(e))
            await self.client.flush()
            return False
        self._settle()
        return True

    async def _learn_packet_limit(self) -> None:
        """The database's max_allowed_packet before the client's first command, so that a longer packet is
        refused unread, as the database refuses it, from the first one on: a pool connection is opened now
        (once: the pool keeps the limit). Without one soon (no target yet, the database down), the limit
        stays unknown until a statement opens one."""
        pool = self.proxy.pool
        with suppress(MysqlError, ProtocolError, ConnectionError, TimeoutError):
            pool.release(await asyncio.wait_for(pool.acquire(self.key, self.capabilities, None), LEARN_TIMEOUT))

    # -- commands ----------------------------------------------------------------------------------
    async def _command(self, message: bytes) -> None:
        command = message[0]
        if command == p.COM_PING:
            self.client.write(p.ok_packet(self.status()))
        elif command == p.COM_INIT_DB:
            await self._use(message[1:].decode())
            self.client.write(p.ok_packet(self.status()))
        elif command == p.COM_RESET_CONNECTION:
            await self.reset()
            self.client.write(p.ok_packet(self.status()))
        elif command == p.COM_CHANGE_USER:
            await session_commands.change_user(self, message)
        elif command == p.COM_QUERY:
            self.proxy.statements += 1
            plan = plan_of(self.client.raw, message)
            found = plan.found
            if found.sets and "EXCLUDE_VARIABLE_SETS" in self.proxy.settings().session_pinning_filters:
                found = replace(found, pin_reason=None)  # the filter: setting variables does not pin
            if found.kill is not None:
                await session_commands.kill(self, *found.kill)
            elif found.use is not None:
                await self._use(found.use)
                self.client.write(p.ok_packet(self.status()))
            elif found.sets and not found.pin_reason and all(
                    a.kind in ("tracked", "charset", "autocommit") for a in found.sets):
                await self._set_tracked(found.sets)
                self.client.write(p.ok_packet(self.status()))
            else:
                await self.forward(message, found.pin_reason, found.ends_transaction, plan.traits,
                                   self.client.raw)
        elif command == p.COM_STMT_PREPARE:
            await self.forward(message, "prepared statement", raw=self.client.raw)
        elif command == p.COM_SET_OPTION:
            await self.forward(message, "COM_SET_OPTION", raw=self.client.raw)
        else:
            await self.forward(message, None, raw=self.client.raw)

    async def forward(self, message: bytes, pin_reason: str | None, ends_transaction: bool = False,
                      traits: Traits | None = None, raw: bytes | None = None,
                      first_attempt: int = 1) -> None:
        """Relay one command to a backend connection and its response to the client (`traits`: a statement's,
        session_state.py; `raw`: the message's packets as the client sent them, when it is the client's).

        The response's last message reaches the client only after the connection went back to the
        pool (or stayed with the client): what the client does next sees the pool as it is.
        """
        for attempt in range(first_attempt, 3):
            borrowed = self.backend is None
            backend = await self._borrow()
            out = Response(self.client, watch_stale=borrowed)
            try:
                if traits is not None and not self.pinned:
                    try:
                        await session_state.give_session_values(self, backend, traits, borrowed)
                    except MysqlError:
                        self.drop_backend()  # half given: it cannot serve anyone
                        raise
                if raw is not None:  # the client's own message, as it came (its sequence numbers start at 0)
                    backend.channel.write_raw(raw)
                else:
                    backend.channel.seq = 0
                    backend.channel.write(message)
                await backend.channel.flush()
            except (ProtocolError, ConnectionError) as e:
                self._lost(e, out, borrowed, attempt)
                continue
            if await self.respond(backend, out, message, pin_reason, ends_transaction, traits, borrowed, attempt):
                return

    async def respond(self, backend: Backend, out: Response, message: bytes, pin_reason: str | None,
                      ends_transaction: bool, traits: Traits | None, borrowed: bool, attempt: int
                      ) -> bool:
        """The database's response to `message` (sent on `backend`) to the client, then the session's state
        after it; False when the pooled connection had been closed and the command never ran (attempt 1:
        take another one)."""
        self.busy = True
        try:
            if message[0] in RESPONSE_COMMANDS:
                status = await relay_response(backend.channel, out, message[0])
            else:
                status = await relay(backend.channel, out.add, message[0])
            if status == LOCAL_INFILE:
                status = await session_commands.local_infile(self, backend, out)
        except (ProtocolError, ConnectionError) as e:
            self._lost(e, out, borrowed, attempt)
            return False
        finally:
            self.busy = False
        if out.stale:
            self.drop_backend()
            if attempt == 1:
                return False
            raise MysqlError(LOST_CONNECTION, "Lost connection to MySQL server during query")
        session_state.note(self, backend, out.last, traits)
        self.after(status, pin_reason, ends_transaction)
        out.finish()
        return True

    def _lost(self, error: Exception, out: Response, borrowed: bool, attempt: int) -> None:
        """The backend connection broke during a command: it goes; the command is tried again (on return)
        only if it was a pooled connection the database had closed, at the first attempt."""
        self.drop_backend()
        if out.empty and borrowed and attempt == 1:
            return  # a pooled connection the database had closed: take another one
        if out.written:  # part of the response reached the client: it cannot be answered any more
            raise ProtocolError("the database connection broke in the middle of a response") from error
        raise MysqlError(LOST_CONNECTION, "Lost connection to MySQL server during query") from None

    def after(self, status: int, pin_reason: str | None, ends_transaction: bool) -> None:
        """After a response: the session's transaction state from the database's status flags."""
        if status >= 0:
            self.state.autocommit = bool(status & p.SERVER_STATUS_AUTOCOMMIT)
            if self.backend:
                self.backend.state.autocommit = self.state.autocommit
            self.in_transaction = bool(status & p.SERVER_STATUS_IN_TRANS) or (
                not self.state.autocommit and not ends_transaction)
        elif status == ERR_STATUS and not self.state.autocommit and not ends_transaction:
            self.in_transaction = True  # an error inside an implicit transaction leaves it open
        if pin_reason and not self.pinned:
            self.pinned = pin_reason
            self.proxy.pinned += 1
            logger.info("RDS Proxy %s pinned a session of %s (%s)", self.proxy.name, self.user, pin_reason)
        self._settle()

    async def _borrow(self) -> Backend:
        """The backend connection this session holds, or one borrowed now; either given the session's state."""
        if self.backend is not None:
            try:
                await self.backend.align(self.state)
            except (ProtocolError, ConnectionError):
                self.drop_backend()
                raise MysqlError(LOST_CONNECTION, "Lost connection to MySQL server during query") from None
            return self.backend
        for attempt in (1, 2):
            backend = await self._acquire()
            try:
                await backend.align(self.state)
            except (ProtocolError, ConnectionError):
                self.proxy.pool.discard(backend)  # closed while idle: take another one
                if attempt == 2:
                    raise MysqlError(LOST_CONNECTION, "Lost connection to MySQL server during query") from None
                continue
            except MysqlError:
                self.proxy.pool.discard(backend)  # half given: it cannot serve anyone
                if self.unchecked_database:  # the login's database does not exist: the session has none
                    self.state.database = self.login_database = None
                    self.unchecked_database = False
                raise
            self.backend, self.unchecked_database = backend, False
            return backend
        raise AssertionError("unreachable")

    async def _acquire(self) -> Backend:
        """A connection from the pool (this session's last one if idle). A session without a default
        database never gets one that has one (MySQL cannot unselect a database): such a connection is
        closed and another one taken."""
        pool = self.proxy.pool
        for _ in range(pool.settings().pool_size + 1):
            backend = await pool.acquire(self.key, self.capabilities, self.state.database, self.home)
            if self.state.database is not None or backend.state.database is None:
                return backend
            pool.discard(backend)
        raise MysqlError(LOST_CONNECTION, "Lost connection to MySQL server during query")

    async def _use(self, database: str) -> None:
        """COM_INIT_DB and USE: checked on a backend connection now, then given to each one borrowed."""
        previous, self.state.database = self.state.database, database
        try:
            await self._borrow()
        except MysqlError:
            self.state.database = previous
            raise
        self._settle()

    async def _set_tracked(self, assignments: tuple[Assignment, ...]) -> None:
        """A SET of only what the proxy tracks: checked on a backend connection, then recorded."""
        wanted, names_set = self.state.copy(), False
        for a in assignments:
            if a.kind == "autocommit":
                wanted.autocommit = boolean(a.value or "")
            elif a.kind == "tracked":
                if (a.value or "").upper() == "DEFAULT":
                    wanted.variables.pop(a.name, None)
                else:
                    wanted.variables[a.name] = a.value or ""
            elif a.name == "names":
                charset = unquote(a.value or "").lower()
                if charset == "default":
                    wanted.names = self.initial_names
                else:
                    wanted.names = (charset, None)
                wanted.charset_overrides.clear()
                names_set = True
            elif a.name == "collation_connection" and names_set:
                wanted.names = (wanted.names[0], engine_collation(a.value or ""))
            else:
                value = a.value or ""
                wanted.charset_overrides[a.name] = engine_collation(value) if "0900" in value else value
        previous, was_autocommit = self.state, self.state.autocommit
        self.state = wanted
        # Only what the database must check (variables' values, unknown character sets) needs a connection
        # now; the rest is given to the next one borrowed.
        checked = wanted.variables != previous.variables or (
            (wanted.names, wanted.charset_overrides) != (previous.names, previous.charset_overrides)
            and not known_names(wanted))
        if checked or self.backend is not None:
            try:
                await self._borrow()
            except MysqlError:
                self.state = previous
                raise
        if wanted.autocommit and not was_autocommit:
            self.in_transaction = False  # turning autocommit on commits, as in MySQL
        self._settle()

    async def reset(self) -> None:
        """COM_RESET_CONNECTION: a fresh session (its connection, if pinned, is closed)."""
        if self.backend is not None:
            if self.pinned:
                self.drop_backend()
            else:
                await self._rollback_and_release()
        self._unpin()
        self.state = SessionState(names=self.initial_names, database=self.login_database)
        self.in_transaction = False
        self.home, self.held, self.last_insert_id, self.fresh = None, False, 0, True

    def _end_hold(self, commands: int) -> None:
        """The client sent nothing within HOLD_TIMEOUT of a result that held its connection: give it back
        (it stays the client's home: affinity gives it back to it while nobody needed it)."""
        if self.waiting and self.held and self.commands == commands:
            self.held = False
            self._settle()

    def _settle(self) -> None:
        """Keep the backend connection while a transaction or pinning needs it; else give it back."""
        if self.backend is not None and not self.pinned and not self.in_transaction and not self.held:
            self.proxy.pool.release(self.backend)
            self.backend = None

    def drop_backend(self) -> None:
        if self.backend is not None:
            self.proxy.pool.discard(self.backend)
        self.backend = None
        self.in_transaction = False
        self._unpin()  # its session state went with the connection

    def _unpin(self) -> None:
        if self.pinned:
            self.pinned = None
            self.proxy.pinned -= 1

    def status(self) -> int:
        """The status flags of an answer of the proxy's own, as the database would set them."""
        return (p.SERVER_STATUS_AUTOCOMMIT if self.state.autocommit else 0) | (
            p.SERVER_STATUS_IN_TRANS if self.in_transaction else 0) | (
            p.SERVER_STATUS_NO_BACKSLASH_ESCAPES
            if "no_backslash_escapes" in self.state.variables.get("sql_mode", "").lower() else 0)

    async def _rollback_and_release(self) -> None:
        backend = self.backend
        assert backend is not None  # (its callers check)
        try:
            if self.in_transaction:
                status = await backend.command(bytes([p.COM_QUERY]) + b"ROLLBACK")
                backend.in_transaction = status >= 0 and bool(status & p.SERVER_STATUS_IN_TRANS)
        except (MysqlError, ProtocolError, ConnectionError):
            self.drop_backend()  # it cannot be trusted with another client
            return
        self.backend, self.in_transaction = None, False
        self.proxy.pool.release(backend)

    async def _leave(self) -> None:
        self.proxy.sessions.discard(self)
        self.home, self.held = None, False
        if self.backend is not None:
            if self.pinned:
                self.drop_backend()
            else:
                await self._rollback_and_release()  # the client left inside a transaction
        self._unpin()


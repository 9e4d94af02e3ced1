"""The local cloud's RDS Proxy data plane (MySQL engine family): a pooling MySQL proxy.

Clients speak the MySQL protocol to it (mysql-mimic serves that side) and log in with a user and
password from the proxy's Secrets Manager secret. It runs their statements on a bounded pool of
PyMySQL connections to the registered DB instance, opened as the same user with the password from
the secret, as RDS Proxy does:

- The pool holds at most max(1, max_connections * MaxConnectionsPercent / 100) connections, opening
  ones included. A client that finds none free waits up to ConnectionBorrowTimeout, then gets
  RDS Proxy's error 9501.
- Connections are shared at transaction boundaries: with autocommit on, a client borrows one per
  statement; with autocommit off or after BEGIN, from its first statement until COMMIT/ROLLBACK.
- The proxy tracks the default database (USE), autocommit, the character set and the session
  variables RDS Proxy tracks for MySQL, and applies them to whichever connection a client borrows.
- Where RDS Proxy pins (other session variables, user variables, temporary tables, LOCK TABLES,
  GET_LOCK, PREPARE, statements over 16 KB) the client keeps its connection until it disconnects;
  that connection is then closed, so its session state never reaches another client.
- A client that leaves inside a transaction is rolled back before its connection is reused.

Everything lives in one RdsProxy instance (its own asyncio loop thread and worker threads), so
several proxies can run in one process.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import secrets
import socket
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Callable

import pymysql
from mysql_mimic import (ColumnType, IdentityProvider, MysqlServer, NativePasswordAuthPlugin, ResultColumn,
                         ResultSet, User)
from mysql_mimic.charset import CharacterSet
from mysql_mimic.control import LocalControl
from mysql_mimic.errors import MysqlError
from mysql_mimic.session import BaseSession
from mysql_mimic.types import ServerStatus
from mysql_mimic.variables import GlobalVariables, SessionVariables
from pymysql.converters import encoders

from .errors import LocalCloudError

logger = logging.getLogger(__name__)

BORROW_TIMEOUT_ERROR = 9501  # RDS Proxy's code for "Timed-out waiting to acquire database connection"
NO_TARGET_ERROR = 2003  # MySQL's "Can't connect to MySQL server": the proxy has nowhere to connect
LOST_CONNECTION_ERROR = 2013  # MySQL's "Lost connection to MySQL server during query"
PINNING_STATEMENT_LENGTH = 16 * 1024  # RDS Proxy pins a session that sends a longer statement
WORKER_THREADS = 256  # blocking PyMySQL calls; threads start only when needed
BACKEND_CONNECT_TIMEOUT = 5
STOP_TIMEOUT = 10.0

# Session variables RDS Proxy tracks for MySQL (it does not pin when they change). The client
# character set is handled on the client side of the proxy; the others are set on the backend.
CLIENT_CHARSET_VARIABLES = frozenset({"character_set_client", "character_set_connection", "character_set_results"})
TRACKED_VARIABLES = frozenset({
    "auto_increment_increment", "character_set_database", "character_set_filesystem", "character_set_server",
    "collation_connection", "collation_database", "collation_server", "interactive_timeout",
    "net_write_timeout", "query_cache_type", "session_track_schema", "sql_mode", "time_zone",
    "transaction_isolation", "tx_isolation", "transaction_read_only", "tx_read_only", "wait_timeout",
})
# Backend results stay in MySQL's text form (PyMySQL without decoders), so the client decodes them
# exactly as it would from the database: no value goes through Python types and back.
TEXT_RESULTS = dict(encoders)


@dataclass
class ProxySettings:
    credentials: dict[str, str]  # username -> password, from the proxy's Secrets Manager secret(s)
    target: tuple[str, int] | None  # (host, port) of the registered DB instance; None while none is registered
    db_max_connections: int  # the database's max_connections
    max_connections_percent: int = 100  # target group ConnectionPoolConfig.MaxConnectionsPercent
    connection_borrow_timeout: float = 120.0  # seconds, ConnectionPoolConfig.ConnectionBorrowTimeout (0: no limit)

    @property
    def pool_size(self) -> int:
        return max(1, self.db_max_connections * self.max_connections_percent // 100)


class RdsProxy:
    """One DB proxy's endpoint: listens on host:port and pools connections to the target."""

    def __init__(self, name: str, settings: Callable[[], ProxySettings], host: str = "127.0.0.1", port: int = 0):
        if not ipaddress.ip_address(host).is_loopback:
            raise LocalCloudError(f"RDS Proxy {name} must listen on a loopback address, not {host}.")
        self.name = name
        self.settings = settings  # called on the proxy's loop thread at each login and pool decision: keep it fast
        self.host = host
        self.port = port
        self.pool = _Pool(self)
        self.sessions: set[_ClientSession] = set()  # logged-in clients
        self.pinned = 0
        self._executor: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def start(self) -> int:
        """Listen (in a daemon thread running the proxy's asyncio loop); returns the port once listening."""
        if self._thread:
            return self.port
        ready, failure = threading.Event(), []
        self._executor = ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix=f"rds-proxy-{self.name}")
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(ready, failure),),
                                        name=f"rds-proxy-{self.name}", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            self._executor.shutdown()
            raise LocalCloudError(f"RDS Proxy {self.name} cannot listen on {self.host}:{self.port}: {failure[0]}")
        logger.info("RDS Proxy %s listening on %s:%d", self.name, self.host, self.port)
        return self.port

    def stop(self) -> None:
        """Close the listener, the client sessions and every backend connection; the thread ends."""
        if not self._thread:
            return
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(STOP_TIMEOUT)
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._thread = None
        logger.info("RDS Proxy %s stopped", self.name)

    def stats(self) -> dict:
        """Pool and client counters now ("pinned": clients pinned now; "peak_backend_open": since creation)."""
        return {
            "pool_size": self.settings().pool_size,
            "backend_open": self.pool.opened,
            "backend_in_use": self.pool.in_use,
            "peak_backend_open": self.pool.peak,
            "clients": len(self.sessions),
            "borrow_timeouts": self.pool.borrow_timeouts,
            "pinned": self.pinned,
        }

    def submit(self, work: Callable, *args, **kwargs) -> Future:
        """Start a blocking call in one of the proxy's worker threads."""
        return self._executor.submit(work, *args, **kwargs)

    async def run(self, backend: _Backend, work: Callable, *args) -> Any:
        """Run a blocking call on a backend connection in a worker thread."""
        backend.job = self.submit(work, *args)
        return await asyncio.wrap_future(backend.job)

    async def _serve(self, ready: threading.Event, failure: list) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = MysqlServer(session_factory=lambda: _ClientSession(self), identity_provider=_Identity(self),
                             control=_Control())
        try:
            await server.start_server(host=self.host, port=self.port)
            self.port = server.sockets()[0].getsockname()[1]
        except OSError as e:
            failure.append(e)
            return
        finally:
            ready.set()
        await self._stopping.wait()
        server.close()
        sessions = list(self.sessions)
        for session in sessions:
            session.connection.kill()  # the client gets "Session was killed"; the session closes
        if sessions:
            await asyncio.wait([session.task for session in sessions], timeout=STOP_TIMEOUT / 2)
        self.pool.close_all()


class _Backend:
    """One PyMySQL connection to the target, and the client session state last applied to it."""

    def __init__(self, conn: pymysql.connections.Connection, user: str, target: tuple[str, int], database: str | None):
        self.conn = conn
        self.user = user
        self.target = target
        self.database = database
        self.settings: dict[str, str] = {}  # tracked session variables set on it: name -> SQL value
        self.check_alive = False  # taken from the idle pool: ping before use (the database may have closed it)
        self.job: Future | None = None  # the last blocking call made on it

    def apply(self, database: str | None, autocommit: bool, settings: dict[str, str]) -> None:
        """Give the connection a client session's state (worker thread)."""
        if self.check_alive:
            self.check_alive = False
            try:
                self.conn.ping()
            except pymysql.MySQLError as e:
                raise _StaleConnection() from e
        if database and database != self.database:
            self.conn.select_db(database)
            self.database = database
        self.conn.autocommit(autocommit)  # sends SET AUTOCOMMIT only when it differs
        changes = {name: settings.get(name, "DEFAULT") for name in settings.keys() | self.settings.keys()
                   if settings.get(name) != self.settings.get(name)}
        if changes:
            with self.conn.cursor() as cur:
                cur.execute("SET SESSION " + ", ".join(f"{name} = {value}" for name, value in changes.items()))
            self.settings = dict(settings)

    @property
    def busy(self) -> bool:
        return self.job is not None and not self.job.done()

    def close(self) -> None:
        if self.busy:
            # A worker thread is blocked on it (stop() during a query). Shutting the socket down wakes
            # that thread up; PyMySQL has no public way to do it.
            with suppress(OSError, AttributeError):
                self.conn._sock.shutdown(socket.SHUT_RDWR)
        with suppress(Exception):
            self.conn.close()


class _StaleConnection(Exception):
    """A pooled connection failed its ping: the database closed it while it sat idle."""


class _Pool:
    """The proxy's bounded pool of backend connections, shared by all its clients (loop thread only)."""

    def __init__(self, proxy: RdsProxy):
        self.proxy = proxy
        self.backends: set[_Backend] = set()  # every open connection
        self.idle: list[_Backend] = []  # most recently used last
        self.waiters: deque[asyncio.Future] = deque()  # clients waiting for a connection, first come first served
        self.opened = 0  # open or opening; never more than the pool size
        self.in_use = 0
        self.peak = 0
        self.borrow_timeouts = 0

    async def acquire(self, user: str, database: str | None) -> _Backend:
        settings = self.proxy.settings()
        if settings.target is None:
            raise MysqlError(f"RDS Proxy {self.proxy.name} has no registered target: register the DB instance "
                             "with RegisterDBProxyTargets, then retry.", NO_TARGET_ERROR)
        for backend in [b for b in self.idle if b.target != settings.target]:
            self.idle.remove(backend)
            self._close(backend)
        backend = self._take_idle(user, database)
        if backend:
            backend.check_alive = True
            self.in_use += 1
            return backend
        if self.opened >= settings.pool_size and self.idle:
            self._close(self.idle.pop(0))  # another user's idle connection makes room
        if self.opened < settings.pool_size:
            self._reserve()
            return await self._open(settings, user, database)
        backend = await self._wait(settings.connection_borrow_timeout)
        if backend is None:  # a slot came free and was reserved for this client
            return await self._open(settings, user, database)
        if backend.user != user:  # reuse the slot for this user
            self.in_use -= 1
            self._close(backend)
            self._reserve()
            return await self._open(settings, user, database)
        return backend

    def release(self, backend: _Backend) -> None:
        self.in_use -= 1
        settings = self.proxy.settings()
        if self.opened > settings.pool_size or backend.target != settings.target:
            self._close(backend)
            backend = None
        self._hand_off(backend, settings)

    def discard(self, backend: _Backend) -> None:
        """Close a borrowed connection instead of returning it (broken, or holding a pinned session's state)."""
        self.in_use -= 1
        self._close(backend)
        self._hand_off(None, self.proxy.settings())

    def close_all(self) -> None:
        for backend in self.backends:
            backend.close()
        for waiter in self.waiters:
            waiter.cancel()
        self.backends.clear()
        self.idle.clear()
        self.waiters.clear()
        self.opened = self.in_use = 0

    def _take_idle(self, user: str, database: str | None) -> _Backend | None:
        mine = [b for b in self.idle if b.user == user]
        if not mine:
            return None
        backend = next((b for b in reversed(mine) if b.database == database), mine[-1])
        self.idle.remove(backend)
        return backend

    def _reserve(self) -> None:
        self.opened += 1
        self.peak = max(self.peak, self.opened)

    async def _open(self, settings: ProxySettings, user: str, database: str | None) -> _Backend:
        """Open a connection in a slot already reserved."""
        host, port = settings.target
        job = self.proxy.submit(
            pymysql.connect, host=host, port=port, user=user, password=settings.credentials.get(user, ""),
            database=database, autocommit=True, ssl_disabled=True, conv=TEXT_RESULTS,
            connect_timeout=BACKEND_CONNECT_TIMEOUT)
        try:
            conn = await asyncio.wrap_future(job)
        except asyncio.CancelledError:  # stop() while connecting: close the connection once it is open
            job.add_done_callback(_close_when_open)
            raise
        except pymysql.MySQLError as e:  # the database refused: the client gets its error
            self.opened -= 1
            self._hand_off(None, settings)
            logger.warning("RDS Proxy %s could not connect to %s:%d as %s: %s", self.proxy.name, host, port, user, e)
            raise MysqlError(*_code_and_message(e)[::-1]) from None
        backend = _Backend(conn, user, settings.target, database)
        self.backends.add(backend)
        self.in_use += 1
        return backend

    async def _wait(self, timeout: float) -> _Backend | None:
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter, timeout or None)
        except TimeoutError:
            self.borrow_timeouts += 1
            logger.warning("RDS Proxy %s: a client waited %.0f s for a database connection (pool of %d busy)",
                           self.proxy.name, timeout, self.opened)
            raise MysqlError("Timed-out waiting to acquire database connection", BORROW_TIMEOUT_ERROR) from None

    def _hand_off(self, backend: _Backend | None, settings: ProxySettings) -> None:
        """Give a released connection, or a free slot (None), to the first waiting client; else keep it idle."""
        while self.waiters and self.waiters[0].done():  # timed out or cancelled
            self.waiters.popleft()
        if not self.waiters:
            if backend:
                self.idle.append(backend)
            return
        if backend:
            self.in_use += 1
        elif self.opened < settings.pool_size:
            self._reserve()
        else:
            return
        self.waiters.popleft().set_result(backend)

    def _close(self, backend: _Backend) -> None:
        self.backends.discard(backend)
        self.opened -= 1
        backend.close()


class _Identity(IdentityProvider):
    """Clients log in with mysql_native_password against the proxy's secret(s), read at each login."""

    def __init__(self, proxy: RdsProxy):
        self.proxy = proxy

    async def get_user(self, username: str) -> User:
        password = self.proxy.settings().credentials.get(username)
        if password is None:  # a password nobody knows: the client gets "Access denied" (1045), as from MySQL
            password = secrets.token_hex(16)
        return User(name=username, auth_plugin=NativePasswordAuthPlugin.name,
                    auth_string=NativePasswordAuthPlugin.create_auth_string(password))


class _Control(LocalControl):
    """mysql-mimic's connection registry; also opens each connection in autocommit mode, as MySQL does,
    so the handshake says so (PyMySQL then sends SET AUTOCOMMIT = 0, its default)."""

    async def add(self, connection) -> int:
        connection.status_flags |= ServerStatus.SERVER_STATUS_AUTOCOMMIT
        return await super().add(connection)


class _ClientSession(BaseSession):
    """One client connection: its session state, and the backend connection it holds, if any."""

    def __init__(self, proxy: RdsProxy):
        self.proxy = proxy
        self.variables = SessionVariables(GlobalVariables())
        self.username: str | None = None
        self.database: str | None = None
        self.autocommit = True
        self.settings: dict[str, str] = {}  # tracked session variables: name -> SQL value
        self.in_transaction = False  # after BEGIN / START TRANSACTION, until COMMIT / ROLLBACK
        self.pinned = False
        self.backend: _Backend | None = None
        self.connection = None
        self.task: asyncio.Task | None = None
        self._ok_counts: dict[str, int] = {}

    async def init(self, connection) -> None:
        self.connection = connection
        if self.username is None:  # failed login: mysql-mimic would go on reading commands
            connection.stream.writer.close()
            return
        self.task = asyncio.current_task()
        self.proxy.sessions.add(self)
        # mysql-mimic (3.0.5) answers every result-less statement with affected_rows=0; forward the backend's.
        plain_ok = connection.ok

        def ok(**kwargs):
            counts, self._ok_counts = self._ok_counts, {}
            return plain_ok(**{**counts, **kwargs})

        connection.ok = ok

    async def close(self) -> None:
        self.proxy.sessions.discard(self)
        if self.pinned:
            self.proxy.pinned -= 1
        backend, self.backend = self.backend, None
        if backend is None:
            return
        if self.pinned or backend.busy:
            self.proxy.pool.discard(backend)
            return
        try:
            await self.proxy.run(backend, backend.conn.rollback)  # the client left inside a transaction
        except Exception:
            self.proxy.pool.discard(backend)
        else:
            self.proxy.pool.release(backend)

    async def use(self, database: str) -> None:
        """COM_INIT_DB and USE: checked on a backend connection now, then applied to each one borrowed."""
        previous, self.database = self.database, database
        try:
            await self._apply_now()
        except MysqlError:
            self.database = previous
            raise

    async def handle_query(self, sql: str, attrs: dict[str, str]) -> ResultSet | None:
        head = sql[_LEADING_COMMENTS.match(sql).end():]
        if _TXN_END.match(head) and self.backend is None:
            return None  # nothing borrowed, so nothing to commit or roll back
        if match := _USE.match(head):
            await self.use(_unquote(match["name"]))
            return None
        if match := _SET.match(head):
            items = [change for item in _split_items(match["items"]) for change in _classify(item)]
            if all(kind in ("charset", "autocommit", "tracked") for kind, _, _ in items):
                await self._set_tracked(items)
                return None
            pin_reason = "SET of session state" if any(kind == "session" for kind, _, _ in items) else None
        else:
            pin_reason = _pin_reason(sql, head)
        return await self._statement(sql, head, pin_reason)

    async def _statement(self, sql: str, head: str, pin_reason: str | None) -> ResultSet | None:
        ends = bool(_TXN_END.match(head))
        try:
            description, rows, affected, insert_id = await self._on_backend(_execute, sql)
        except MysqlError:
            self._settle(ends)
            raise
        if pin_reason and not self.pinned:
            self.pinned = True
            self.proxy.pinned += 1
            logger.info("RDS Proxy %s pinned a session of %s (%s)", self.proxy.name, self.username, pin_reason)
        if _TXN_BEGIN.match(head):
            self.in_transaction = True
        if (match := _DROP_DATABASE.match(head)) and _unquote(match["name"]) == self.database:
            self.database = self.backend.database = None
        self._settle(ends)
        if description is None:
            self._ok_counts = {"affected_rows": affected, "last_insert_id": insert_id or 0}
            return None
        charset = CharacterSet[self.variables.get("character_set_results")]
        columns = [ResultColumn(name=d[0], type=ColumnType(d[1]),
                                character_set=CharacterSet.binary if any(isinstance(row[i], bytes) for row in rows)
                                else charset)
                   for i, d in enumerate(description)]
        return ResultSet(rows, columns)

    async def _set_tracked(self, items: list[tuple[str, str, str | None]]) -> None:
        """A SET of only what the proxy tracks: record it; check backend variables on a connection now."""
        autocommit, settings, charsets = self.autocommit, dict(self.settings), {}
        for kind, name, value in items:
            if kind == "charset":
                charsets.update(_charset_changes(name, value))
            elif kind == "autocommit":
                autocommit = _boolean(value)
            elif value.upper() == "DEFAULT":
                settings.pop(name, None)
            else:
                settings[name] = value
        previous = self.autocommit, self.settings
        self.autocommit, self.settings = autocommit, settings
        if settings != previous[1] or (self.backend and autocommit != previous[0]):
            try:
                await self._apply_now()
            except MysqlError:
                self.autocommit, self.settings = previous
                raise
        if autocommit and not previous[0]:
            self.in_transaction = False  # turning autocommit on commits, as in MySQL
        for name, charset in charsets.items():
            self.variables.set(name, charset)
        if autocommit:  # the status flags of the following OK packets tell the client
            self.connection.status_flags |= ServerStatus.SERVER_STATUS_AUTOCOMMIT
        else:
            self.connection.status_flags &= ~ServerStatus.SERVER_STATUS_AUTOCOMMIT
        self._settle(False)

    async def _apply_now(self) -> None:
        """Apply the session state to the connection it holds, or to one borrowed just for that."""
        borrowed = self.backend is None
        try:
            await self._on_backend(_nothing)
        finally:
            if borrowed and self.backend is not None:
                self.proxy.pool.release(self.backend)
                self.backend = None

    async def _on_backend(self, work: Callable, *args) -> Any:
        """Run work(connection, *args) in a worker thread on the backend connection this session holds,
        or borrows now, after giving it the session's state."""
        while True:
            if self.backend is None:
                self.backend = await self.proxy.pool.acquire(self.username, self.database)
            backend = self.backend
            try:
                return await self.proxy.run(backend, _with_state, backend,
                                            (self.database, self.autocommit, self.settings), work, *args)
            except _StaleConnection:
                self._drop_backend()  # take another one
            except pymysql.MySQLError as e:
                code, message = _code_and_message(e)
                if backend.conn.open and code and not 2000 <= code < 3000:  # the server's error on a sound connection
                    raise MysqlError(message, code) from None
                self._drop_backend()
                raise MysqlError(message or "Lost connection to MySQL server during query",
                                 code or LOST_CONNECTION_ERROR) from None
            except Exception as e:  # the connection broke under PyMySQL
                self._drop_backend()
                raise MysqlError(f"Lost connection to MySQL server during query ({e})", LOST_CONNECTION_ERROR) from None

    def _drop_backend(self) -> None:
        self.proxy.pool.discard(self.backend)
        self.backend = None
        self.in_transaction = False
        if self.pinned:  # its session state went with the connection
            self.pinned = False
            self.proxy.pinned -= 1

    def _settle(self, transaction_ended: bool) -> None:
        """After a statement: keep the backend connection while a transaction or pinning needs it."""
        if transaction_ended:
            self.in_transaction = False
        if self.backend and not self.pinned and (transaction_ended or (self.autocommit and not self.in_transaction)):
            self.proxy.pool.release(self.backend)
            self.backend = None


# -- worker-thread calls --------------------------------------------------------------------------

def _with_state(backend: _Backend, state: tuple, work: Callable, *args) -> Any:
    backend.apply(*state)
    return work(backend.conn, *args)


def _nothing(conn: pymysql.connections.Connection) -> None:
    return None


def _execute(conn: pymysql.connections.Connection, sql: str) -> tuple:
    """(description, rows, affected rows, last insert id) of one statement."""
    with conn.cursor() as cur:
        affected = cur.execute(sql)
        result = cur.description, cur.fetchall(), affected, cur.lastrowid
        while cur.nextset():  # a CALL's further results: the client sees the first one
            pass
        return result


def _close_when_open(job: Future) -> None:
    if not job.cancelled() and job.exception() is None:
        job.result().close()


def _code_and_message(error: pymysql.MySQLError) -> tuple[int, str]:
    """PyMySQL's (code, message); code 0 when the error has none (a closed connection)."""
    if len(error.args) >= 2 and isinstance(error.args[0], int):
        return error.args[0], str(error.args[1])
    return 0, str(error)


# -- statement classification --------------------------------------------------------------------

_LEADING_COMMENTS = re.compile(r"(?:\s+|/\*(?!!).*?\*/|(?:--\s|#)[^\n]*)*", re.S)
_NAME = r"(?P<name>`(?:[^`]|``)+`|[^\s;`]+)"
_TXN_BEGIN = re.compile(r"(?:BEGIN(?:\s+WORK)?\s*;?\s*\Z|START\s+TRANSACTION\b)", re.I)
_TXN_END = re.compile(r"(?:COMMIT|ROLLBACK)(?:\s+WORK)?\s*;?\s*\Z", re.I)
_USE = re.compile(rf"USE\s+{_NAME}\s*;?\s*\Z", re.I)
_DROP_DATABASE = re.compile(rf"DROP\s+(?:DATABASE|SCHEMA)\s+(?:IF\s+EXISTS\s+)?{_NAME}", re.I)
_SET = re.compile(r"SET\s+(?P<items>.*?)\s*;?\s*\Z", re.I | re.S)
_SET_NAMES = re.compile(r"(?P<kind>NAMES|CHARACTER\s+SET|CHARSET)\s+(?P<charset>'[^']*'|\"[^\"]*\"|\w+)"
                        r"(?:\s+COLLATE\s+(?P<collation>'[^']*'|\"[^\"]*\"|\w+))?\Z", re.I)
_SET_SESSION_STATE = re.compile(r"(?:(?:SESSION|LOCAL)\s+)?(?:TRANSACTION|ROLE)\b", re.I)
_SET_VARIABLE = re.compile(r"(?:(?P<scope>GLOBAL|SESSION|LOCAL|PERSIST|PERSIST_ONLY)\s+"
                           r"|@@(?:(?P<at_scope>GLOBAL|SESSION|LOCAL|PERSIST|PERSIST_ONLY)\.)?)?"
                           r"(?P<name>[a-z_][a-z0-9_]*)\s*:?=\s*(?P<value>.+)\Z", re.I | re.S)
_PINNING = [
    (re.compile(r"\A(?:LOCK\s+TABLES?\b|FLUSH\s+TABLES?\b.*\bWITH\s+READ\s+LOCK\b)", re.I | re.S), "LOCK TABLES"),
    (re.compile(r"\ACREATE\s+(?:OR\s+REPLACE\s+)?TEMPORARY\s+TABLE\b", re.I), "temporary table"),
    (re.compile(r"\APREPARE\b", re.I), "prepared statement"),
    (re.compile(r"\bGET_LOCK\s*\(", re.I), "GET_LOCK"),
    (re.compile(r"(?<![@\w$])@(?:[\w$.]+|`[^`]*`|'[^']*'|\"[^\"]*\")\s*:=|\bINTO\s+@(?!@)", re.I), "user variable"),
]
_BOOLEANS = {"1": True, "on": True, "true": True, "0": False, "off": False, "false": False}


def _pin_reason(sql: str, head: str) -> str | None:
    if len(sql) > PINNING_STATEMENT_LENGTH:
        return "statement longer than 16 KB"
    return next((reason for pattern, reason in _PINNING if pattern.search(head)), None)


def _split_items(text: str) -> list[str]:
    """A SET statement's assignments: split at commas outside quotes and parentheses."""
    items, start, depth, quote, i = [], 0, 0, None, 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and quote != "`":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
        i += 1
    items.append(text[start:].strip())
    return items


def _classify(item: str) -> list[tuple[str, str, str | None]]:
    """What one SET assignment changes, as (kind, name, value) tuples. Kinds: "charset", "autocommit"
    and "tracked" are tracked by the proxy; "session" is other session state (it pins); "other" is
    state outside the session (GLOBAL variables, passwords)."""
    if match := _SET_NAMES.match(item):
        changes = [("charset", match["kind"].lower(), match["charset"])]
        if match["collation"]:
            changes.append(("tracked", "collation_connection", match["collation"]))
        return changes
    if (item.startswith("@") and not item.startswith("@@")) or _SET_SESSION_STATE.match(item):
        return [("session", item, None)]  # a user variable, the transaction mode or the role
    match = _SET_VARIABLE.match(item)
    scope = (match["scope"] or match["at_scope"] or "SESSION").upper() if match else None
    if not match or scope in ("GLOBAL", "PERSIST", "PERSIST_ONLY") or match["name"].lower() == "password":
        return [("other", item, None)]
    name, value = match["name"].lower(), match["value"].strip()
    if name == "autocommit":
        return [("autocommit", name, value)]
    if name in CLIENT_CHARSET_VARIABLES:
        return [("charset", name, value)]
    if name in TRACKED_VARIABLES:
        return [("tracked", name, value)]
    return [("session", name, None)]


def _charset_changes(name: str, value: str) -> dict[str, str]:
    """The client character set variables a SET NAMES / CHARACTER SET / character_set_* changes."""
    charset = _unquote(value).lower()
    charset = "utf8" if charset == "utf8mb3" else charset
    if charset not in CharacterSet.__members__:
        raise MysqlError(f"Unknown character set: '{charset}'", 1115)
    names = (name,) if name in CLIENT_CHARSET_VARIABLES else CLIENT_CHARSET_VARIABLES
    return dict.fromkeys(names, charset)


def _boolean(value: str) -> bool:
    try:
        return _BOOLEANS[_unquote(value).lower()]
    except KeyError:
        raise MysqlError(f"Variable 'autocommit' can't be set to the value of '{value}'", 1231) from None


def _unquote(text: str) -> str:
    """An identifier or value without its quotes (`db`, 'utf8mb4')."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "`'\"":
        return text[1:-1].replace(text[0] * 2, text[0])
    return text

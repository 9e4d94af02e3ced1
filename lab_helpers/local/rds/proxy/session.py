"""One client connection to the proxy (a mysql-mimic session), and how clients log in.

- Connections are shared at transaction boundaries: with autocommit on, a client borrows one per
  statement; with autocommit off or after BEGIN, from its first statement until COMMIT/ROLLBACK.
- The tracked session state (default database, autocommit, character set, tracked variables) is
  applied to whichever connection a client borrows.
- A pinned client keeps its connection until it disconnects; that connection is then closed, so
  its session state never reaches another client.
- A client that leaves inside a transaction is rolled back before its connection is reused.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from typing import Any, Protocol

import pymysql
from mysql_mimic import ColumnType, IdentityProvider, NativePasswordAuthPlugin, ResultColumn, ResultSet, User
from mysql_mimic.charset import CharacterSet
from mysql_mimic.control import LocalControl
from mysql_mimic.errors import MysqlError
from mysql_mimic.session import BaseSession
from mysql_mimic.types import ServerStatus
from mysql_mimic.variables import GlobalVariables, SessionVariables

from .pool import Backend, Pool, StaleConnection, code_and_message
from .settings import ProxySettings
from .statements import (
    DROP_DATABASE,
    LEADING_COMMENTS,
    SET,
    TXN_BEGIN,
    TXN_END,
    USE,
    boolean,
    charset_changes,
    classify,
    pinning_reason,
    split_items,
    unquote,
)

logger = logging.getLogger(__name__)

LOST_CONNECTION_ERROR = 2013  # MySQL's "Lost connection to MySQL server during query"


class ProxyCore(Protocol):
    """What a client session uses of its proxy (server.RdsProxy is one)."""
    name: str
    pool: Pool
    sessions: set["ClientSession"]  # logged-in clients
    pinned: int  # clients pinned now
    statements: int  # client statements relayed to the database

    def settings(self) -> ProxySettings: ...

    async def run(self, backend: Backend, work: Callable, *args) -> Any: ...


class Identity(IdentityProvider):
    """Clients log in with mysql_native_password against the proxy's secret(s), read at each login."""

    def __init__(self, proxy: ProxyCore):
        self.proxy = proxy

    async def get_user(self, username: str) -> User:
        password = self.proxy.settings().credentials.get(username)
        if password is None:  # a password nobody knows: the client gets "Access denied" (1045), as from MySQL
            password = secrets.token_hex(16)
        return User(name=username, auth_plugin=NativePasswordAuthPlugin.name,
                    auth_string=NativePasswordAuthPlugin.create_auth_string(password))


class Control(LocalControl):
    """mysql-mimic's connection registry; also opens each connection in autocommit mode, as MySQL does,
    so the handshake says so (PyMySQL then sends SET AUTOCOMMIT = 0, its default)."""

    async def add(self, connection) -> int:
        connection.status_flags |= ServerStatus.SERVER_STATUS_AUTOCOMMIT
        return await super().add(connection)


class ClientSession(BaseSession):
    """One client connection: its session state, and the backend connection it holds, if any."""

    def __init__(self, proxy: ProxyCore):
        self.proxy = proxy
        self.variables = SessionVariables(GlobalVariables())
        self.username: str | None = None
        self.database: str | None = None
        self.autocommit = True
        self.settings: dict[str, str] = {}  # tracked session variables: name -> SQL value
        self.in_transaction = False  # after BEGIN / START TRANSACTION, until COMMIT / ROLLBACK
        self.pinned = False
        self.backend: Backend | None = None
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
        except (pymysql.MySQLError, OSError):  # the connection is gone too: it is not reused
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
        head = sql[LEADING_COMMENTS.match(sql).end():]
        if TXN_END.match(head) and self.backend is None:
            return None  # nothing borrowed, so nothing to commit or roll back
        if match := USE.match(head):
            await self.use(unquote(match["name"]))
            return None
        if match := SET.match(head):
            items = [change for item in split_items(match["items"]) for change in classify(item)]
            if all(kind in ("charset", "autocommit", "tracked") for kind, _, _ in items):
                await self._set_tracked(items)
                return None
            pin_reason = "SET of session state" if any(kind == "session" for kind, _, _ in items) else None
        else:
            pin_reason = pinning_reason(sql, head)
        return await self._statement(sql, head, pin_reason)

    async def _statement(self, sql: str, head: str, pin_reason: str | None) -> ResultSet | None:
        ends = bool(TXN_END.match(head))
        try:
            self.proxy.statements += 1
            description, rows, affected, insert_id = await self._on_backend(_execute, sql)
        except MysqlError:
            self._settle(ends)
            raise
        if pin_reason and not self.pinned:
            self.pinned = True
            self.proxy.pinned += 1
            logger.info("RDS Proxy %s pinned a session of %s (%s)", self.proxy.name, self.username, pin_reason)
        if TXN_BEGIN.match(head):
            self.in_transaction = True
        if (match := DROP_DATABASE.match(head)) and unquote(match["name"]) == self.database:
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
                charsets.update(charset_changes(name, value))
            elif kind == "autocommit":
                autocommit = boolean(value)
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
            except StaleConnection:
                self._drop_backend()  # take another one
            except pymysql.MySQLError as e:
                code, message = code_and_message(e)
                if backend.conn.open and code and not 2000 <= code < 3000:  # the server's error on a sound connection
                    raise MysqlError(message, code) from None
                self._drop_backend()
                raise MysqlError(message or "Lost connection to MySQL server during query",
                                 code or LOST_CONNECTION_ERROR) from None
            except (OSError, EOFError, AttributeError) as e:  # the socket broke under PyMySQL (AttributeError: closed)
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

def _with_state(backend: Backend, state: tuple, work: Callable, *args) -> Any:
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

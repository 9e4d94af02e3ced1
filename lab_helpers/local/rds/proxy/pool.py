"""The proxy's bounded pool of PyMySQL connections to the target, shared by all its clients.

- The pool holds at most max(1, max_connections * MaxConnectionsPercent / 100) connections, opening
  ones included. A client that finds none free waits up to ConnectionBorrowTimeout, then gets
  RDS Proxy's error 9501.
- Connections are opened as the client's user with the password from the secret; each one is given
  the borrowing client's session state before use.
"""
from __future__ import annotations

import asyncio
import logging
import socket
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import suppress

import pymysql
from mysql_mimic.errors import MysqlError
from pymysql.converters import encoders

from .settings import ProxySettings

logger = logging.getLogger(__name__)

BORROW_TIMEOUT_ERROR = 9501  # RDS Proxy's code for "Timed-out waiting to acquire database connection"
NO_TARGET_ERROR = 2003  # MySQL's "Can't connect to MySQL server": the proxy has nowhere to connect
BACKEND_CONNECT_TIMEOUT = 5
# Backend results stay in MySQL's text form (PyMySQL without decoders), so the client decodes them
# exactly as it would from the database: no value goes through Python types and back.
TEXT_RESULTS = dict(encoders)


class Backend:
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
                raise StaleConnection() from e
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


class StaleConnection(Exception):
    """A pooled connection failed its ping: the database closed it while it sat idle."""


class Pool:
    """The proxy's bounded pool of backend connections, shared by all its clients (loop thread only)."""

    def __init__(self, name: str, settings: Callable[[], ProxySettings], submit: Callable[..., Future]):
        self.name = name  # the proxy's, for messages
        self.settings = settings  # the proxy's settings now (read at each decision)
        self.submit = submit  # starts a blocking call in one of the proxy's worker threads
        self.backends: set[Backend] = set()  # every open connection
        self.idle: list[Backend] = []  # most recently used last
        self.waiters: deque[asyncio.Future] = deque()  # clients waiting for a connection, first come first served
        self.opened = 0  # open or opening; never more than the pool size
        self.in_use = 0
        self.peak = 0
        self.borrow_timeouts = 0

    async def acquire(self, user: str, database: str | None) -> Backend:
        settings = self.settings()
        if settings.target is None:
            raise MysqlError(f"RDS Proxy {self.name} has no registered target: register the DB instance "
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

    def release(self, backend: Backend) -> None:
        self.in_use -= 1
        settings = self.settings()
        if self.opened > settings.pool_size or backend.target != settings.target:
            self._close(backend)
            backend = None
        self._hand_off(backend, settings)

    def discard(self, backend: Backend) -> None:
        """Close a borrowed connection instead of returning it (broken, or holding a pinned session's state)."""
        self.in_use -= 1
        self._close(backend)
        self._hand_off(None, self.settings())

    def close_all(self) -> None:
        for backend in self.backends:
            backend.close()
        for waiter in self.waiters:
            waiter.cancel()
        self.backends.clear()
        self.idle.clear()
        self.waiters.clear()
        self.opened = self.in_use = 0

    def _take_idle(self, user: str, database: str | None) -> Backend | None:
        mine = [b for b in self.idle if b.user == user]
        if not mine:
            return None
        backend = next((b for b in reversed(mine) if b.database == database), mine[-1])
        self.idle.remove(backend)
        return backend

    def _reserve(self) -> None:
        self.opened += 1
        self.peak = max(self.peak, self.opened)

    async def _open(self, settings: ProxySettings, user: str, database: str | None) -> Backend:
        """Open a connection in a slot already reserved."""
        host, port = settings.target
        job = self.submit(
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
            logger.warning("RDS Proxy %s could not connect to %s:%d as %s: %s", self.name, host, port, user, e)
            raise MysqlError(*code_and_message(e)[::-1]) from None
        backend = Backend(conn, user, settings.target, database)
        self.backends.add(backend)
        self.in_use += 1
        return backend

    async def _wait(self, timeout: float) -> Backend | None:
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter, timeout or None)
        except TimeoutError:
            self.borrow_timeouts += 1
            logger.warning("RDS Proxy %s: a client waited %.0f s for a database connection (pool of %d busy)",
                           self.name, timeout, self.opened)
            raise MysqlError("Timed-out waiting to acquire database connection", BORROW_TIMEOUT_ERROR) from None

    def _hand_off(self, backend: Backend | None, settings: ProxySettings) -> None:
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

    def _close(self, backend: Backend) -> None:
        self.backends.discard(backend)
        self.opened -= 1
        backend.close()


# -- worker-thread calls --------------------------------------------------------------------------

def _close_when_open(job: Future) -> None:
    if not job.cancelled() and job.exception() is None:
        job.result().close()


def code_and_message(error: pymysql.MySQLError) -> tuple[int, str]:
    """PyMySQL's (code, message); code 0 when the error has none (a closed connection)."""
    if len(error.args) >= 2 and isinstance(error.args[0], int):
        return error.args[0], str(error.args[1])
    return 0, str(error)

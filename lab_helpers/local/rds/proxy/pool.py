"""The proxy's bounded pool of connections to the target, shared by all its clients (loop thread only).

- The pool holds at most max(1, max_connections * MaxConnectionsPercent / 100) connections, opening
  ones included. A client that finds none free waits up to ConnectionBorrowTimeout, then gets
  RDS Proxy's error 9501.
- Idle connections above MaxIdleConnectionsPercent of max_connections are closed when given back.
- Connections are opened as the client's user with the password from the secret (with end-to-end IAM, what
  the proxy's own token releases: end_to_end.py), with the client's session capabilities (a connection serves
  only clients that chose the same ones).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable

from . import end_to_end
from .backend import LOST_AT_LOGIN, Backend, Key, open_backend
from .protocol import COM_QUERY, MysqlError
from .settings import ProxySettings

logger = logging.getLogger(__name__)

BORROW_TIMEOUT_ERROR = 9501  # RDS Proxy's code for "Timed-out waiting to acquire database connection"
NO_TARGET_ERROR = 2003  # MySQL's "Can't connect to MySQL server": the proxy has nowhere to connect
BACKEND_CONNECT_TIMEOUT = 5.0
RECONNECT_INTERVAL = 0.1  # seconds between attempts to reach a database that is not answering


class Pool:
    """The proxy's backend connections: idle ones by key, and a count of every open (or opening) one."""

    def __init__(self, name: str, settings: Callable[[], ProxySettings]):
        self.name = name  # the proxy's, for messages
        self.settings = settings  # the proxy's settings now (read at each decision)
        self.backends: set[Backend] = set()  # every open connection
        self.idle: dict[Backend, None] = {}  # most recently used last (a dict: taken out of the middle at once)
        # clients waiting for a connection, first come first served
        self.waiters: deque[asyncio.Future[Backend | None]] = deque()
        self.opened = 0  # open or opening; never more than the pool size
        self.in_use = 0
        self.peak = 0
        self.borrow_timeouts = 0
        self.max_allowed_packet: int | None = None  # the database's, learned from each new connection
        self.idle_target: tuple[str, int] | None = None  # the target every idle connection is to (release() sees to it)

    async def acquire(self, key: Key, capabilities: int, database: str | None, home: Backend | None = None
                      ) -> Backend:
        """A connection for a client of `key` = (user, session capabilities): its `home` (the connection of
        its last statement) when idle, another idle one (nobody's home first, then another client's), a new
        one, or one given back while the client waits (at most ConnectionBorrowTimeout)."""
        settings = self.settings()
        if settings.target is None:
            raise MysqlError(NO_TARGET_ERROR, f"RDS Proxy {self.name} has no registered target: register the DB "
                                              "instance with RegisterDBProxyTargets, then retry.")
        if settings.target != self.idle_target:  # a new target: the old one's idle connections go (once)
            for backend in [b for b in self.idle if b.target != settings.target]:
                del self.idle[backend]
                self._close(backend)
            self.idle_target = settings.target
        taken = self._take_idle(key, database, home)
        if taken:
            self.in_use += 1
            return taken
        while self.opened >= settings.pool_size and self.idle:
            oldest = next(iter(self.idle))
            del self.idle[oldest]
            self._close(oldest)  # other users' idle connections make room (all: the pool may have shrunk)
        if self.opened < settings.pool_size:
            self._reserve()
            return await self._open(settings, key, capabilities)
        given = await self._wait(settings.connection_borrow_timeout)
        if given is None:  # a slot came free and was reserved for this client
            return await self._open(self.settings(), key, capabilities)
        if given.key != key:  # reuse the slot for this client
            self.in_use -= 1
            self._close(given)
            self._reserve()
            return await self._open(self.settings(), key, capabilities)
        return given

    def idle_now(self, key: Key, database: str | None, home: Backend | None) -> Backend | None:
        """The idle connection `acquire` would give the client, if it can be taken now (`take`: a relay in
        callbacks, fast_path.py, cannot wait); None when acquire has more to do (no target, a new one, a
        connection to open, another client's home to take)."""
        if self.idle_target is None or self.settings().target != self.idle_target:
            return None
        backend = self._idle_choice(key, database, home, steal=False)
        if backend is None or backend.channel.at_eof():
            return None
        return backend

    def take(self, backend: Backend) -> None:
        """Borrow the idle connection `idle_now` chose."""
        del self.idle[backend]
        self.in_use += 1

    def release(self, backend: Backend) -> None:
        """Give back a connection that is between transactions and holds no pinned state."""
        self.in_use -= 1
        settings = self.settings()
        idle_limit = settings.db_max_connections * settings.max_idle_connections_percent // 100
        if (self.opened > settings.pool_size or backend.target != settings.target
                or (not self.waiters and len(self.idle) >= idle_limit)):
            self._close(backend)
            self._hand_off(None, settings)
            return
        self._hand_off(backend, settings)

    def discard(self, backend: Backend) -> None:
        """Close a borrowed connection instead of giving it back (broken, or holding a pinned session's state)."""
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

    def _take_idle(self, key: Key, database: str | None, home: Backend | None) -> Backend | None:
        """The client's home if idle; else an idle connection that is nobody's home (the same database
        first); else the least recently used home of another idle client: an idle connection is always
        reused before a new one is opened, as RDS Proxy multiplexes (the client whose home it was gets its
        session values back, or a fresh session's, on its next statement: session_state.py).
        A connection the database closed meanwhile is closed when it comes up, and the next one looked at."""
        while True:
            backend = self._idle_choice(key, database, home)
            if backend is None:
                return None
            del self.idle[backend]
            if not backend.channel.at_eof():
                return backend
            self._close(backend)

    def _idle_choice(self, key: Key, database: str | None, home: Backend | None, steal: bool = True
                     ) -> Backend | None:
        """`_take_idle`'s choice among the idle connections, most recently used first (one pass, and usually
        the client's own home); another client's home only if `steal`."""
        if home is not None and home.key == key and home in self.idle:
            return home
        free: Backend | None = None
        oldest_home: Backend | None = None
        for backend in reversed(self.idle):
            if backend.key != key:
                continue
            if backend.owner is None or backend.owner.home is not backend:
                if backend.state.database == database:
                    return backend
                free = free or backend
            else:
                oldest_home = backend
        if free is not None or not steal:
            return free
        if oldest_home is not None and oldest_home.owner is not None:  # (it has one: it is its home)
            oldest_home.owner.home = None  # its client's next statement runs elsewhere (session_state.py)
        return oldest_home

    def _reserve(self) -> None:
        self.opened += 1
        self.peak = max(self.peak, self.opened)

    async def _open(self, settings: ProxySettings, key: Key, capabilities: int) -> Backend:
        """Open a connection in a slot already reserved. While the database cannot be reached (it
        restarts, or fails over), keep trying until ConnectionBorrowTimeout, as RDS Proxy does."""
        user = key[0]
        deadline = time.monotonic() + (settings.connection_borrow_timeout or BACKEND_CONNECT_TIMEOUT)
        try:
            while True:
                target = settings.target  # read again on each try: the target may have been deregistered
                if target is None:
                    raise MysqlError(NO_TARGET_ERROR, f"RDS Proxy {self.name} has no registered target any more.")
                try:
                    backend = await open_backend(target, user,
                                                 await end_to_end.password(settings, user, self.name),
                                                 capabilities, key, BACKEND_CONNECT_TIMEOUT)
                    break
                except MysqlError as e:  # unreachable, or gone during its login: it restarts; try again
                    if e.code not in (NO_TARGET_ERROR, LOST_AT_LOGIN) or time.monotonic() >= deadline:
                        raise
                await asyncio.sleep(RECONNECT_INTERVAL)
                settings = self.settings()
        except BaseException as e:  # refused, unreachable or cancelled: the slot is free again
            self.opened -= 1
            self._hand_off(None, self.settings())
            if isinstance(e, MysqlError):
                where = "{}:{}".format(*settings.target) if settings.target else "no registered target"
                logger.warning("RDS Proxy %s could not connect to %s as %s: %s", self.name, where, user, e)
            raise
        if settings.init_query:  # the new connection's session defaults, before any client uses it
            try:
                await backend.command(bytes([COM_QUERY]) + settings.init_query.encode())
            except BaseException:
                backend.close()
                self.opened -= 1
                self._hand_off(None, self.settings())
                raise
        self.backends.add(backend)
        self.in_use += 1
        self.max_allowed_packet = backend.max_allowed_packet
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
            raise MysqlError(BORROW_TIMEOUT_ERROR, "Timed-out waiting to acquire database connection") from None

    def _hand_off(self, backend: Backend | None, settings: ProxySettings) -> None:
        """Give a released connection, or a free slot (None), to the first waiting client; else keep it idle."""
        while self.waiters and self.waiters[0].done():  # timed out or cancelled
            self.waiters.popleft()
        if not self.waiters:
            if backend:
                self.idle[backend] = None
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

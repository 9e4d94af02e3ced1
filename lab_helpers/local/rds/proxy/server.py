"""RdsProxy: one DB proxy's endpoint, serving clients from its own asyncio loop thread.

Everything of one proxy (listener, client sessions, backend connections) lives on that loop; no
call blocks it: logins, relays and the pool are all asynchronous.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import itertools
import logging
import ssl
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import uvloop

from ...errors import LocalCloudError
from . import protocol as p
from .busy_poll import BusyPoll, default_window
from .certificates import server_context
from .channel import Channel, Link
from .pool import Pool
from .session import ClientSession
from .session_view import SessionView
from .settings import ProxySettings

logger = logging.getLogger(__name__)

STOP_TIMEOUT = 10.0
FIRST_CONNECTION_ID = 1_000_000_000


class RdsProxy:
    """One DB proxy's endpoint: listens on host:port and pools connections to the target."""

    def __init__(self, name: str, settings: Callable[[], ProxySettings], host: str = "127.0.0.1", port: int = 0):
        if not ipaddress.ip_address(host).is_loopback:
            raise LocalCloudError(f"RDS Proxy {name} must listen on a loopback address, not {host}.")
        self.name = name
        self.settings = settings  # called on the proxy's loop at each login and pool decision: keep it fast
        self.host = host
        self.port = port
        self.pool = Pool(name, settings)
        self.sessions: set[SessionView] = set()  # logged-in clients
        self.pinned = 0
        self.statements = 0  # client statements relayed to the database since creation
        self.statements_in_callbacks = 0  # of those, answered without the session's task (fast_path.py)
        self.busy_poll = BusyPoll(default_window())  # the loop polls after the relay's writes (busy_poll.py)
        # Client connection ids (handshake, KILL) far above the database's thread ids: never the same number.
        self._ids = itertools.count(FIRST_CONNECTION_ID)
        self._tls: tuple[tuple[str, str], ssl.SSLContext] | None = None
        self.refused_clients = 0  # past max_client_connections
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def start(self) -> int:
        """Listen (in a daemon thread running the proxy's asyncio loop); returns the port once listening."""
        if self._thread:
            return self.port
        ready = threading.Event()
        failure: list[OSError] = []
        self._thread = threading.Thread(target=uvloop.run, args=(self._serve(ready, failure),),
                                        name=f"rds-proxy-{self.name}", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise LocalCloudError(f"RDS Proxy {self.name} cannot listen on {self.host}:{self.port}: {failure[0]}")
        logger.info("RDS Proxy %s listening on %s:%d", self.name, self.host, self.port)
        return self.port

    def stop(self) -> None:
        """Close the listener, the client sessions and every backend connection; the thread ends."""
        if not self._thread:
            return
        loop, stopping = self._loop, self._stopping
        if self._thread.is_alive() and loop is not None and stopping is not None:
            loop.call_soon_threadsafe(stopping.set)
            self._thread.join(STOP_TIMEOUT)
        self._thread = None
        logger.info("RDS Proxy %s stopped", self.name)

    def stats(self) -> dict[str, Any]:
        """Pool and client counters now ("pinned": clients pinned now; "peak_backend_open", "statements" and
        "statements_in_callbacks" and the busy poll's "busy_polls", "busy_poll_seconds", "busy_polls_lost": since
        creation)."""
        return {
            "pool_size": self.settings().pool_size,
            "backend_open": self.pool.opened,
            "backend_in_use": self.pool.in_use,
            "peak_backend_open": self.pool.peak,
            "clients": len(self.sessions),
            "borrow_timeouts": self.pool.borrow_timeouts,
            "pinned": self.pinned,
            "statements": self.statements,
            "statements_in_callbacks": self.statements_in_callbacks,
            "busy_polls": self.busy_poll.polls,
            "busy_poll_seconds": round(self.busy_poll.seconds, 6),
            "busy_polls_lost": self.busy_poll.lost,
            "refused_clients": self.refused_clients,
        }

    def stats_from_loop(self, timeout: float) -> dict[str, Any] | None:
        """`stats()` as the proxy's own event loop computes it: None when the loop does not answer within
        `timeout` seconds (something blocks it: every client of the proxy is stalled then)."""
        if self._loop is None or not self._loop.is_running():
            return None

        async def on_loop() -> dict[str, Any]:
            return self.stats()

        answer = asyncio.run_coroutine_threadsafe(on_loop(), self._loop)
        try:
            return answer.result(timeout)
        except concurrent.futures.TimeoutError:
            answer.cancel()
            return None

    def block_loop_for_test(self, seconds: float) -> None:
        """A test hook (LAB_PROXY_TEST_HOOKS=1, SIGUSR1): block the event loop, as a busy loop in a session
        would, to show that the watchdog notices and replaces the process."""
        if self._loop is None:
            raise LocalCloudError(f"RDS Proxy {self.name} is not running: start it first")
        self._loop.call_soon_threadsafe(time.sleep, seconds)

    def next_connection_id(self) -> int:
        return next(self._ids)

    def tls_context(self) -> ssl.SSLContext | None:
        """The TLS context for the certificate the settings name (made again when it changes)."""
        files = self.settings().tls
        if files is None:
            return None
        if self._tls is None or self._tls[0] != files:
            self._tls = (files, server_context(Path(files[0]), Path(files[1])))
        return self._tls[1]

    async def _serve(self, ready: threading.Event, failure: list[OSError]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()
        sessions: set[ClientSession] = set()

        async def accept(channel: Channel) -> None:
            if len(sessions) >= self.settings().max_client_connections:  # before any handshake, as MySQL does
                self.refused_clients += 1
                with suppress(ConnectionError):
                    channel.write(p.err_packet(p.MysqlError(1040, "Too many connections", "08004")))
                    await channel.flush()
                channel.close()
                return
            session = ClientSession(self, channel)
            sessions.add(session)
            task = asyncio.current_task()
            assert task is not None  # each connection's session runs as a task of its own
            tasks.add(task)
            try:
                await session.run()
            finally:
                sessions.discard(session)
                tasks.discard(task)

        try:
            server = await self._loop.create_server(lambda: Link(accept), self.host, self.port)
            self.port = server.sockets[0].getsockname()[1]
        except OSError as e:
            failure.append(e)
            return
        finally:
            ready.set()
        await self._stopping.wait()
        server.close()
        for session in list(sessions):
            session.close()  # its next read fails; it rolls back and gives its connection back
        if tasks:
            await asyncio.wait(list(tasks), timeout=STOP_TIMEOUT / 2)
        self.pool.close_all()

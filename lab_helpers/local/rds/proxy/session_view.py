"""What the modules that answer for a client session (session_state.py, session_commands.py, fast_path.py)
use of that session and of its proxy, as typing Protocols: session.ClientSession and server.RdsProxy are
one each. These modules then need no import of session.py, which imports them.
"""
from __future__ import annotations

import ssl
from typing import Protocol

from .backend import Backend, Key, SessionState
from .busy_poll import BusyPoll
from .channel import Channel
from .pool import Pool
from .response import Response
from .settings import ProxySettings
from .statements import Traits


class ProxyCore(Protocol):
    """What a client session uses of its proxy (server.RdsProxy is one)."""
    name: str
    pool: Pool
    sessions: set[SessionView]  # logged-in clients
    pinned: int  # clients pinned now
    statements: int  # client statements relayed to the database
    statements_in_callbacks: int  # of those, answered without the session's task (fast_path.py)
    busy_poll: BusyPoll  # the loop polls on after the relay's writes (busy_poll.py)

    def settings(self) -> ProxySettings: ...

    def next_connection_id(self) -> int: ...

    def tls_context(self) -> ssl.SSLContext | None: ...


class SessionView(Protocol):
    """What session_state.py, session_commands.py and fast_path.py read and change of a client session
    (session.ClientSession is one)."""
    proxy: ProxyCore
    client: Channel
    user: str | None
    capabilities: int
    key: Key
    state: SessionState
    initial_names: tuple[str, str | None]
    backend: Backend | None
    pinned: str | None
    unchecked_database: bool
    login_database: str | None
    connection_id: int
    seed: bytes
    busy: bool
    home: Backend | None
    held: bool
    last_insert_id: int
    fresh: bool

    def close(self) -> None: ...

    def status(self) -> int: ...

    async def forward(self, message: bytes, pin_reason: str | None, ends_transaction: bool = False,
                      traits: Traits | None = None, raw: bytes | None = None, first_attempt: int = 1) -> None: ...

    async def reset(self) -> None: ...

    async def respond(self, backend: Backend, out: Response, message: bytes, pin_reason: str | None,
                      ends_transaction: bool, traits: Traits | None, borrowed: bool, attempt: int) -> bool: ...

    def begin_command(self, command: int) -> None: ...

    def end_command(self) -> None: ...

    def after(self, status: int, pin_reason: str | None, ends_transaction: bool) -> None: ...

    def drop_backend(self) -> None: ...

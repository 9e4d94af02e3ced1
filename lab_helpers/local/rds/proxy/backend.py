"""The proxy's connections to the database: opened with the client's user and the secret's password,
given a client's session state, and the relay of a response from the database to the client.

A response is relayed message by message, exactly as the database sent it; the proxy only follows
its structure (OK, ERR, result sets and their EOF packets, more results) to know where it ends and
with which status flags (in a transaction? autocommit?).
"""
from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from . import protocol as p
from .channel import Channel, connect
from .protocol import MysqlError, ProtocolError
from .response import ERR_STATUS, LOCAL_INFILE, NO_STATUS

Sink = Callable[[bytes, bytes], None]  # (message, its packets as received)

LOST_AT_LOGIN = 2013  # MySQL's "Lost connection to MySQL server at 'reading initial communication packet'"
# MySQL 8's names of variables MariaDB (before 11.1) knows by their older names.
MARIADB_NAMES = {"transaction_isolation": "tx_isolation", "transaction_read_only": "tx_read_only"}


@dataclass
class SessionState:
    """What a client's session has set that a shared backend connection must be given before use."""
    database: str | None = None
    autocommit: bool = True
    names: tuple[str, str | None] = ("utf8mb4", "utf8mb4_general_ci")  # SET NAMES charset COLLATE collation
    charset_overrides: dict[str, str] = field(default_factory=dict)  # character_set_results = ..., etc.
    variables: dict[str, str] = field(default_factory=dict)  # tracked session variables: name -> SQL value

    def copy(self) -> SessionState:
        return SessionState(self.database, self.autocommit, self.names, dict(self.charset_overrides),
                            dict(self.variables))


Key = tuple[str, int]  # (user, session capabilities): which clients a connection can serve


class Holder(Protocol):
    """What a connection knows of the client session that used it last (session_view.SessionView is one)."""
    home: Backend | None  # the connection its last statement ran on
    last_insert_id: int


class Backend:
    """One connection to the database and the session state it has."""

    def __init__(self, channel: Channel, user: str, key: Key, target: tuple[str, int], thread_id: int,
                 server_version: str = ""):
        self.channel = channel
        self.names = MARIADB_NAMES if "mariadb" in server_version.lower() else {}
        self.user = user
        self.key = key  # (user, session capabilities): which clients it can serve
        self.target = target
        self.thread_id = thread_id
        self.state = SessionState()
        self.in_transaction = False
        self.idle_since = time.monotonic()
        self.owner: Holder | None = None  # the client session that ran the last statement here (session_state.py)
        self.max_allowed_packet: int | None = None
        self.last_insert_id = 0  # LAST_INSERT_ID() here, as the OK packets' insert ids tell
        self.insert_id_unsure = False  # it may differ (an explicit id, LAST_INSERT_ID(n): session_state.py)
        # the session whose SELECT set FOUND_ROWS() here last (None: the proxy's)
        self.found_rows_of: Holder | None = None

    def alignment(self, wanted: SessionState) -> tuple[str | None, str | None]:
        """(database to select, SET statement) that give this connection the session state `wanted`."""
        database = wanted.database if wanted.database and wanted.database != self.state.database else None
        items = []
        if wanted.names != self.state.names or wanted.charset_overrides != self.state.charset_overrides:
            charset, collation = wanted.names
            items.append(f"NAMES {charset}" + (f" COLLATE {collation}" if collation else ""))
            items += [f"{name} = {value}" for name, value in wanted.charset_overrides.items()]
        if wanted.autocommit != self.state.autocommit:
            items.append(f"autocommit = {int(wanted.autocommit)}")
        for name in sorted(wanted.variables.keys() | self.state.variables.keys()):
            if wanted.variables.get(name) != self.state.variables.get(name):
                items.append(f"SESSION {self.names.get(name, name)} = {wanted.variables.get(name, 'DEFAULT')}")
        return database, ("SET " + ", ".join(items) if items else None)

    async def align(self, wanted: SessionState) -> None:
        """Give the connection the session state `wanted` (MysqlError when the database refuses it)."""
        if wanted == self.state:  # the usual case: the session's state is what this connection has
            return
        database, statement = self.alignment(wanted)
        if database:
            await self.command(bytes([p.COM_INIT_DB]) + database.encode())
            self.state.database = database
        if statement:
            await self.command(bytes([p.COM_QUERY]) + statement.encode())
        self.state = wanted.copy()
        self.state.database = wanted.database or self.state.database

    async def command(self, message: bytes, keep: Callable[[bytes], None] | None = None) -> int:
        """Run one command of the proxy's own and read its whole response (each message to `keep`); its
        status (MysqlError on ERR)."""
        self.channel.seq = 0
        self.channel.write(message)
        await self.channel.flush()
        errors: list[MysqlError] = []

        def keep_error(response: bytes, raw: bytes) -> None:
            if p.is_err(response):
                errors.append(p.err_of(response))
            elif keep is not None:
                keep(response)

        status = await relay(self.channel, keep_error, message[0])
        if errors:
            raise errors[0]
        return status

    def close(self) -> None:
        self.channel.close()


async def open_backend(target: tuple[str, int], user: str, password: str, capabilities: int, key: Key,
                       timeout: float) -> Backend:
    """A new connection to the database, logged in as `user` (mysql_native_password)."""
    try:
        channel = await asyncio.wait_for(connect(*target), timeout)
    except TimeoutError:
        raise MysqlError(2003, f"Can't connect to MySQL server on '{target[0]}' (timed out)") from None
    except OSError as e:
        reason = f"[Errno {e.errno}] {os.strerror(e.errno)}" if e.errno else str(e)
        raise MysqlError(2003, f"Can't connect to MySQL server on '{target[0]}' ({reason})") from None
    try:
        greeting = p.parse_server_handshake(await asyncio.wait_for(channel.read(), timeout))
        flags = p.BACKEND_CAPABILITIES | (capabilities & p.SESSION_CAPABILITIES & greeting.capabilities)
        channel.write(p.handshake_response(flags, p.UTF8MB4_GENERAL_CI, user,
                                           p.native_password_scramble(password, greeting.seed), None,
                                           p.NATIVE_PASSWORD))
        await channel.flush()
        while True:
            answer = await asyncio.wait_for(channel.read(), timeout)
            if p.is_ok(answer):
                backend = Backend(channel, user, key, target, greeting.connection_id, greeting.version)
                rows: list[bytes] = []
                await backend.command(bytes([p.COM_QUERY]) + b"SELECT @@max_allowed_packet", rows.append)
                backend.max_allowed_packet = int(p.lenenc_bytes(rows[-2], 0)[0])
                return backend
            if p.is_err(answer):
                raise p.err_of(answer)
            if answer[:1] == b"\xfe":  # auth switch: the database wants another plugin, or a new seed
                plugin, pos = p.null_terminated(answer, 1)
                if plugin.decode() != p.NATIVE_PASSWORD:
                    raise MysqlError(2059, f"Authentication plugin '{plugin.decode()}' cannot be loaded")
                channel.write(p.native_password_scramble(password, answer[pos:pos + 20]))
                await channel.flush()
            else:
                raise ProtocolError(f"unexpected packet 0x{answer[0]:02x} in the database's login")
    except (ProtocolError, ConnectionError, TimeoutError) as e:  # e.g. the engine stops or starts meanwhile
        channel.close()
        raise MysqlError(LOST_AT_LOGIN, "Lost connection to MySQL server at 'reading initial communication "
                                        f"packet' ({e or type(e).__name__})") from None
    except BaseException:
        channel.close()
        raise


async def relay(backend: Channel, sink: Sink, command: int) -> int:
    """Read the database's whole response to `command`, handing each message to `sink`; the final
    status flags (NO_STATUS for a response without them, the status before for an ERR: -2)."""
    if command in (p.COM_STMT_CLOSE, p.COM_STMT_SEND_LONG_DATA):
        return NO_STATUS
    if command == p.COM_STMT_PREPARE:
        return await _prepared(backend, sink)
    if command == p.COM_STMT_FETCH:
        return await _until_eof(backend, sink)
    if command == p.COM_FIELD_LIST:
        return await _until_eof(backend, sink)
    if command == p.COM_STATISTICS:
        await _pass(backend, sink)
        return NO_STATUS
    while True:  # COM_QUERY and COM_STMT_EXECUTE: one or more results; others: one OK, ERR or EOF
        first = await backend.read()
        sink(first, backend.raw)
        if p.is_err(first):
            return ERR_STATUS
        if first[:1] == b"\xfb" and command == p.COM_QUERY:
            return LOCAL_INFILE
        if p.is_ok(first):
            status = p.ok_status(first)
        elif p.is_eof(first):  # COM_SET_OPTION answers with EOF
            status = p.eof_status(first)
        elif command not in (p.COM_QUERY, p.COM_STMT_EXECUTE):
            raise ProtocolError(f"unexpected answer 0x{first[0]:02x} to command 0x{command:02x}")
        else:  # a result set: column count, column definitions, EOF, rows, EOF
            count, _ = p.lenenc_int(first, 0)
            for _ in range(count):
                await _pass(backend, sink)
            end_of_columns = await backend.read()
            sink(end_of_columns, backend.raw)
            status = p.eof_status(end_of_columns)
            if not (command == p.COM_STMT_EXECUTE and status & p.SERVER_STATUS_CURSOR_EXISTS):
                status = await _until_eof(backend, sink)
                if status == ERR_STATUS:
                    return ERR_STATUS
        if not status & p.SERVER_MORE_RESULTS_EXISTS:
            return status



async def _pass(backend: Channel, sink: Sink) -> bytes:
    message = await backend.read()
    sink(message, backend.raw)
    return message


async def _until_eof(backend: Channel, sink: Sink) -> int:
    """Messages (rows, definitions) up to the EOF that ends them, or an ERR; the EOF's status."""
    while True:
        message = await backend.read()
        sink(message, backend.raw)
        if p.is_err(message):
            return ERR_STATUS
        if p.is_eof(message):
            return p.eof_status(message)


async def _prepared(backend: Channel, sink: Sink) -> int:
    first = await backend.read()
    sink(first, backend.raw)
    if p.is_err(first):
        return ERR_STATUS
    columns = int.from_bytes(first[5:7], "little")
    params = int.from_bytes(first[7:9], "little")
    for count in (params, columns):
        if count:
            for _ in range(count + 1):  # the definitions, then EOF
                await _pass(backend, sink)
    return NO_STATUS

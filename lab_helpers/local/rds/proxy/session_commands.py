"""Commands a client sends that concern its own connection, answered as MySQL answers them directly
(AWS documents nothing else about them for RDS Proxy): KILL [QUERY] <id>, LOAD DATA LOCAL INFILE and
COM_CHANGE_USER.

- KILL names a connection id: the id in the proxy's handshake (what `mysql`'s Ctrl-C sends), or the
  thread id the client's CONNECTION_ID() gave (its connection's, while that connection is still its
  own). The statement that client runs is killed on the database (KILL QUERY there); KILL closes the
  client's connection too; a client that kills itself gets MySQL's 1927 and is disconnected. An id of
  no client is MySQL's 1094, another user's client 1095: the pool's other connections are never touched.
- LOAD DATA LOCAL INFILE: the database's request for the file goes to the client, the file's packets
  to the database unchanged.
- COM_CHANGE_USER: the new user logs in against the proxy's secrets (the handshake's scramble, or an
  auth switch); the session then starts afresh as that user (its connection given back, rolled back),
  as MySQL resets a session that changes user.
"""
from __future__ import annotations

import hmac

from . import protocol as p
from .backend import Backend, SessionState, relay
from .charsets import names_for
from .protocol import MysqlError, ProtocolError
from .response import Response
from .session_view import SessionView


async def kill(session: SessionView, query_only: bool, connection_id: int) -> None:
    target = next((s for s in session.proxy.sessions if s.connection_id == connection_id or (
        s.home is not None and s.home.owner is s and s.home.thread_id == connection_id)), None)
    if target is None:
        raise MysqlError(1094, f"Unknown thread id: {connection_id}")
    if target.user != session.user:
        raise MysqlError(1095, f"You are not owner of thread {connection_id}")
    if target is session and not query_only:  # as MySQL answers a session that kills itself
        session.client.write(p.err_packet(MysqlError(1927, "Connection was killed", "70100")))
        await session.client.flush()
        raise ProtocolError("the client killed its own connection")
    if target.busy and target.backend is not None:
        await session.forward(bytes([p.COM_QUERY]) + f"KILL QUERY {target.backend.thread_id}".encode(), None)
    else:
        session.client.write(p.ok_packet(session.status()))
    if not query_only:
        target.close()


async def local_infile(session: SessionView, backend: Backend, out: Response) -> int:
    """After the database asked for the file: its request to the client, the client's packets to the
    database as they come (to the empty one), then the database's answer; its status."""
    out.finish()
    await session.client.flush()
    while True:
        data = await session.client.read()
        backend.channel.write_raw(session.client.raw)
        await backend.channel.flush()
        if not data:
            return await relay(backend.channel, out.add, p.COM_QUERY)


def _change_user_request(message: bytes, capabilities: int) -> tuple[str, bytes, str | None, int | None, str | None]:
    """COM_CHANGE_USER: (user, auth response, database, collation id, auth plugin)."""
    user, pos = p.null_terminated(message, 1)
    if capabilities & p.CLIENT_SECURE_CONNECTION:
        auth, pos = message[pos + 1:pos + 1 + message[pos]], pos + 1 + message[pos]
    else:
        auth, pos = p.null_terminated(message, pos)
    database, pos = p.null_terminated(message, pos) if b"\0" in message[pos:] else (message[pos:], len(message))
    collation = plugin = None
    if pos + 2 <= len(message):
        collation, pos = int.from_bytes(message[pos:pos + 2], "little"), pos + 2
    if capabilities & p.CLIENT_PLUGIN_AUTH and pos < len(message):
        raw, pos = p.null_terminated(message, pos) if b"\0" in message[pos:] else (message[pos:], len(message))
        plugin = raw.decode()
    return user.decode(), auth, database.decode() or None, collation, plugin


async def change_user(session: SessionView, message: bytes) -> None:

    user, auth, database, collation, plugin = _change_user_request(message, session.capabilities)
    if plugin and plugin != p.NATIVE_PASSWORD:
        session.client.write(p.auth_switch_request(p.NATIVE_PASSWORD, session.seed))
        await session.client.flush()
        auth = await session.client.read()
    settings = session.proxy.settings()
    # a user whose secret has IAMAuth REQUIRED never logs in with the password (iam_auth.py)
    password = None if user in settings.iam_users else settings.credentials.get(user)
    if password is None or not hmac.compare_digest(auth, p.native_password_scramble(password, session.seed)):
        host = session.client.peer_host
        session.client.write(p.err_packet(MysqlError(
            p.ACCESS_DENIED, f"Access denied for user '{user}'@'{host}' (using password: {'YES' if auth else 'NO'})",
            "28000")))
        await session.client.flush()
        raise ProtocolError("COM_CHANGE_USER refused")  # the connection ends, as it has no user any more
    await session.reset()  # the old user's transaction rolled back, its connection given back or closed
    session.user = user
    session.key = (user, session.capabilities & p.SESSION_CAPABILITIES)
    if collation is not None:
        session.initial_names = names_for(collation)
    session.state = SessionState(names=session.initial_names, database=database)
    session.login_database, session.unchecked_database = database, database is not None
    session.client.write(p.ok_packet(session.status()))

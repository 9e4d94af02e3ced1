"""The MySQL client/server protocol, as much of it as a relaying proxy needs.

Packets and their parts: handshakes, OK/ERR/EOF, length-encoded values, the password scramble
(channel.py reads and writes them on a connection). Only the first bytes of a message are ever
looked at: what kind of packet it is (OK, ERR, EOF, a row), and the status flags that end a response
(in a transaction? more results follow?).
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

MAX_PAYLOAD = 0xFFFFFF

# capability flags
CLIENT_LONG_PASSWORD = 0x1
CLIENT_FOUND_ROWS = 0x2
CLIENT_LONG_FLAG = 0x4
CLIENT_CONNECT_WITH_DB = 0x8
CLIENT_NO_SCHEMA = 0x10
CLIENT_COMPRESS = 0x20
CLIENT_LOCAL_FILES = 0x80
CLIENT_IGNORE_SPACE = 0x100
CLIENT_PROTOCOL_41 = 0x200
CLIENT_INTERACTIVE = 0x400
CLIENT_SSL = 0x800
CLIENT_TRANSACTIONS = 0x2000
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_MULTI_STATEMENTS = 0x10000
CLIENT_MULTI_RESULTS = 0x20000
CLIENT_PS_MULTI_RESULTS = 0x40000
CLIENT_PLUGIN_AUTH = 0x80000
CLIENT_CONNECT_ATTRS = 0x100000
CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA = 0x200000
CLIENT_DEPRECATE_EOF = 0x1000000

# What the proxy offers clients (without CLIENT_SSL, added when it has a certificate). Not offered:
# compression (RDS Proxy does not support it), DEPRECATE_EOF (responses keep their EOF packets),
# session tracking.
PROXY_CAPABILITIES = (CLIENT_LONG_PASSWORD | CLIENT_FOUND_ROWS | CLIENT_LONG_FLAG | CLIENT_CONNECT_WITH_DB
                      | CLIENT_LOCAL_FILES
                      | CLIENT_IGNORE_SPACE | CLIENT_PROTOCOL_41 | CLIENT_INTERACTIVE | CLIENT_TRANSACTIONS
                      | CLIENT_SECURE_CONNECTION | CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS
                      | CLIENT_PS_MULTI_RESULTS | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS
                      | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA)
# Flags that change what a session does or how its results look: a backend connection serves
# only clients that chose the same ones.
SESSION_CAPABILITIES = (CLIENT_FOUND_ROWS | CLIENT_IGNORE_SPACE | CLIENT_INTERACTIVE | CLIENT_MULTI_STATEMENTS
                        | CLIENT_MULTI_RESULTS | CLIENT_PS_MULTI_RESULTS | CLIENT_LOCAL_FILES)
BACKEND_CAPABILITIES = (CLIENT_LONG_PASSWORD | CLIENT_LONG_FLAG | CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS
                        | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA)

# server status flags
SERVER_STATUS_IN_TRANS = 0x1
SERVER_STATUS_AUTOCOMMIT = 0x2
SERVER_STATUS_NO_BACKSLASH_ESCAPES = 0x200  # sql_mode has NO_BACKSLASH_ESCAPES: drivers escape quotes by doubling
SERVER_MORE_RESULTS_EXISTS = 0x8
SERVER_STATUS_CURSOR_EXISTS = 0x40

# commands
COM_QUIT = 0x01
COM_INIT_DB = 0x02
COM_QUERY = 0x03
COM_FIELD_LIST = 0x04
COM_STATISTICS = 0x09
COM_PING = 0x0E
COM_CHANGE_USER = 0x11
COM_STMT_PREPARE = 0x16
COM_STMT_EXECUTE = 0x17
COM_STMT_SEND_LONG_DATA = 0x18
COM_STMT_CLOSE = 0x19
COM_STMT_RESET = 0x1A
COM_SET_OPTION = 0x1B
COM_STMT_FETCH = 0x1C
COM_RESET_CONNECTION = 0x1F

NATIVE_PASSWORD = "mysql_native_password"
UTF8MB4_GENERAL_CI = 45


class ProtocolError(Exception):
    """The peer sent something that is not the MySQL protocol (or hung up mid-message)."""


class PacketTooLarge(ProtocolError):
    """A message longer than the channel's limit (the database's max_allowed_packet): not read further."""


@dataclass(frozen=True)
class MysqlError(Exception):
    """An error to send to the client as an ERR packet."""
    code: int
    message: str
    sqlstate: str = "HY000"

    def __str__(self) -> str:
        return f"({self.code}) {self.message}"


# ---------------------------------------------------------------- length-encoded values

def lenenc_int(data: bytes | bytearray, pos: int) -> tuple[int, int]:
    first = data[pos]
    if first < 0xFB:
        return first, pos + 1
    if first == 0xFC:
        return int.from_bytes(data[pos + 1:pos + 3], "little"), pos + 3
    if first == 0xFD:
        return int.from_bytes(data[pos + 1:pos + 4], "little"), pos + 4
    if first == 0xFE:
        return int.from_bytes(data[pos + 1:pos + 9], "little"), pos + 9
    raise ProtocolError(f"bad length-encoded integer 0x{first:02x}")


def encode_lenenc_int(value: int) -> bytes:
    if value < 0xFB:
        return bytes([value])
    if value < 1 << 16:
        return b"\xfc" + value.to_bytes(2, "little")
    if value < 1 << 24:
        return b"\xfd" + value.to_bytes(3, "little")
    return b"\xfe" + value.to_bytes(8, "little")


def lenenc_bytes(data: bytes, pos: int) -> tuple[bytes, int]:
    length, pos = lenenc_int(data, pos)
    return data[pos:pos + length], pos + length


def null_terminated(data: bytes, pos: int) -> tuple[bytes, int]:
    end = data.index(b"\0", pos)
    return data[pos:end], end + 1


# ---------------------------------------------------------------- packets the proxy reads

def is_ok(message: bytes) -> bool:
    return bool(message) and message[0] == 0x00


def is_err(message: bytes) -> bool:
    return bool(message) and message[0] == 0xFF


def is_eof(message: bytes) -> bool:
    """An EOF packet (0xFE and short; a row starting with 0xFE is at least 9 bytes long)."""
    return bool(message) and message[0] == 0xFE and len(message) < 9


def ok_status(message: bytes) -> int:
    """The status flags of an OK packet."""
    _, pos = lenenc_int(message, 1)  # affected rows
    _, pos = lenenc_int(message, pos)  # last insert id
    return int.from_bytes(message[pos:pos + 2], "little")


def eof_status(message: bytes) -> int:
    """The status flags of an EOF packet (after its two bytes of warnings)."""
    return int.from_bytes(message[3:5], "little") if len(message) >= 5 else 0


def err_of(message: bytes) -> MysqlError:
    """An ERR packet as a MysqlError (code, SQL state, message)."""
    code = int.from_bytes(message[1:3], "little")
    if message[3:4] == b"#":
        return MysqlError(code, message[9:].decode(errors="replace"), message[4:9].decode(errors="replace"))
    return MysqlError(code, message[3:].decode(errors="replace"))


# ---------------------------------------------------------------- packets the proxy writes

def ok_packet(status: int, affected_rows: int = 0, last_insert_id: int = 0, warnings: int = 0) -> bytes:
    return (b"\x00" + encode_lenenc_int(affected_rows) + encode_lenenc_int(last_insert_id)
            + struct.pack("<HH", status, warnings))


def err_packet(error: MysqlError) -> bytes:
    return (b"\xff" + struct.pack("<H", error.code) + b"#" + error.sqlstate.encode()[:5].ljust(5, b"0")
            + error.message.encode())


def handshake_v10(server_version: str, connection_id: int, seed: bytes, capabilities: int, collation: int,
                  status: int) -> bytes:
    """The server's greeting: version, connection id, the 20-byte scramble, capabilities, auth plugin."""
    return (b"\x0a" + server_version.encode() + b"\0" + struct.pack("<I", connection_id) + seed[:8] + b"\0"
            + struct.pack("<H", capabilities & 0xFFFF) + bytes([collation]) + struct.pack("<H", status)
            + struct.pack("<H", capabilities >> 16) + bytes([len(seed) + 1]) + b"\0" * 10 + seed[8:] + b"\0"
            + NATIVE_PASSWORD.encode() + b"\0")


def auth_switch_request(plugin: str, seed: bytes) -> bytes:
    return b"\xfe" + plugin.encode() + b"\0" + seed + b"\0"


# ---------------------------------------------------------------- handshakes

@dataclass(frozen=True)
class HandshakeResponse:
    capabilities: int
    collation: int
    user: str
    auth: bytes
    database: str | None
    plugin: str | None
    ssl_request: bool  # only the first 32 bytes: the client asks for TLS first


def parse_handshake_response(message: bytes) -> HandshakeResponse:
    """HandshakeResponse41 (or the SSLRequest that comes first when the client wants TLS)."""
    if len(message) < 32:
        raise ProtocolError("handshake response too short")
    capabilities = int.from_bytes(message[:4], "little")
    collation = message[8]
    if not capabilities & CLIENT_PROTOCOL_41:
        raise MysqlError(1043, "Bad handshake: the client must speak protocol 4.1", "08S01")
    if len(message) == 32:
        return HandshakeResponse(capabilities, collation, "", b"", None, None, bool(capabilities & CLIENT_SSL))
    user, pos = null_terminated(message, 32)
    if capabilities & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA:
        auth, pos = lenenc_bytes(message, pos)
    elif capabilities & CLIENT_SECURE_CONNECTION:
        auth, pos = message[pos + 1:pos + 1 + message[pos]], pos + 1 + message[pos]
    else:
        auth, pos = null_terminated(message, pos)
    database = None
    if capabilities & CLIENT_CONNECT_WITH_DB and pos < len(message):
        raw, pos = null_terminated(message, pos)
        database = raw.decode() or None
    plugin = None
    if capabilities & CLIENT_PLUGIN_AUTH and pos < len(message):
        raw, pos = null_terminated(message, pos) if b"\0" in message[pos:] else (message[pos:], len(message))
        plugin = raw.decode()
    return HandshakeResponse(capabilities, collation, user.decode(), auth, database, plugin, False)


@dataclass(frozen=True)
class ServerHandshake:
    version: str
    connection_id: int
    seed: bytes
    capabilities: int
    plugin: str


def parse_server_handshake(message: bytes) -> ServerHandshake:
    if is_err(message):
        raise err_of(message)
    if message[:1] != b"\x0a":
        raise ProtocolError(f"unknown handshake protocol {message[:1]!r}")
    version, pos = null_terminated(message, 1)
    connection_id = int.from_bytes(message[pos:pos + 4], "little")
    seed = message[pos + 4:pos + 12]
    pos += 13
    capabilities = int.from_bytes(message[pos:pos + 2], "little")
    pos += 5  # capabilities (low), collation, status
    capabilities |= int.from_bytes(message[pos:pos + 2], "little") << 16
    auth_length = message[pos + 2]
    pos += 13  # capabilities (high), auth data length, 10 reserved
    seed += message[pos:pos + max(13, auth_length - 8) - 1]
    pos += max(13, auth_length - 8)
    plugin = message[pos:].split(b"\0", 1)[0].decode() if capabilities & CLIENT_PLUGIN_AUTH else NATIVE_PASSWORD
    return ServerHandshake(version.decode(errors="replace"), connection_id, seed, capabilities, plugin)


def handshake_response(capabilities: int, collation: int, user: str, auth: bytes, database: str | None,
                       plugin: str) -> bytes:
    out = struct.pack("<IIB", capabilities, MAX_PAYLOAD, collation) + b"\0" * 23 + user.encode() + b"\0"
    out += encode_lenenc_int(len(auth)) + auth
    if capabilities & CLIENT_CONNECT_WITH_DB:
        out += (database or "").encode() + b"\0"
    return out + plugin.encode() + b"\0"


def native_password_scramble(password: str, seed: bytes) -> bytes:
    """mysql_native_password: SHA1(password) XOR SHA1(seed + SHA1(SHA1(password)))."""
    if not password:
        return b""
    stage1 = hashlib.sha1(password.encode()).digest()
    stage2 = hashlib.sha1(stage1).digest()
    mixed = hashlib.sha1(seed[:20] + stage2).digest()
    return bytes(a ^ b for a, b in zip(stage1, mixed, strict=True))


ACCESS_DENIED = 1045  # MySQL's ER_ACCESS_DENIED_ERROR: a login or COM_CHANGE_USER refused

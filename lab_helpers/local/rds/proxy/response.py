"""A response on its way from the database to the client, passed on exactly as the database sent it.

Most of what a proxy relays is the answer to a COM_QUERY or COM_STMT_EXECUTE. `relay_response` reads
it by its packet headers where it lies in the connection's receive buffer: it follows the structure
(OK, ERR, a result set's column definitions, EOF and rows, more results) only as far as the first
byte of each message and the status flags that end it, and copies no message on its own. A SELECT
is a handful of messages, so this is the relay's hot path: the cost per message is a few integer
operations, not a coroutine call and two copies as `backend.relay` (kept for the other commands and
the proxy's own) spends.
"""
from __future__ import annotations

from . import protocol as p
from .channel import Channel
from .protocol import MAX_PAYLOAD, ProtocolError

NO_STATUS = -1  # a response that carries no status flags (a prepared statement's, a row fetch's)
ERR_STATUS = -2  # a response that ended with an ERR packet
LOCAL_INFILE = -3  # the database asks the client for a file (LOAD DATA LOCAL INFILE)
STALE_ERRORS = {1927, 4031}  # "Connection was killed", "disconnected by the server because of inactivity"
RELAY_BUFFER = 1 << 20  # bytes of a response held back at most before they are passed on

# Where a response is, between two messages.
_FIRST, _COLUMNS, _ROWS = 0, 1, 2


class Response:
    """A response on its way to the client, its packets passed on unchanged: collected, and written in
    one go by `finish()` (a long one goes on in parts, all but its last message); an error saying the
    pooled connection was closed is noticed, not passed on. `sent`: bytes of it the client has already
    (passed on as they came, fast_path.py), not written again."""

    def __init__(self, client: Channel, watch_stale: bool, sent: int = 0):
        self.client = client
        self.watch_stale = watch_stale
        self.pending = bytearray()
        self.last = b""  # the response's last message so far, headers included
        self.written = 1 if sent else 0
        self.stale = False
        self._skip = sent

    @property
    def empty(self) -> bool:
        return not self.written and not self.last

    def add(self, message: bytes, raw: bytes) -> None:
        """One message (its payload, and its packets as received)."""
        if self.empty and self.watch_stale and p.is_err(message) and p.err_of(message).code in STALE_ERRORS:
            self.stale = True  # the database closed this pooled connection; the command never ran
            return
        self.pending += self.last
        self.last = raw
        if len(self.pending) > RELAY_BUFFER:  # a long result goes on, all but its last message
            self.pass_on()

    def pass_on(self) -> None:
        skip = min(self._skip, len(self.pending))
        if skip:
            del self.pending[:skip]
            self._skip -= skip
        if self.pending:
            self.client.write_raw(bytes(self.pending))
            self.written += 1
            self.pending.clear()

    def finish(self) -> None:
        self.pending += self.last
        if self.pending:
            self.pass_on()
        self.last = b""


class Scan:
    """Where the reading of one COM_QUERY or COM_STMT_EXECUTE response is: `advance` follows it through what
    the buffer holds, and says how it ended once it did. The buffer is not changed: what was read of it
    lies before `pos`, so a relay in callbacks (fast_path.py) can hand an unfinished response over to
    `relay_response`, which reads it again from the start."""

    __slots__ = ("command", "watch_stale", "pos", "start", "phase", "columns", "first", "seq", "stale", "needed")

    def __init__(self, command: int, watch_stale: bool):
        self.command = command
        self.watch_stale = watch_stale  # an error saying the pooled connection was closed ends it as stale
        self.pos = 0  # where the next message starts
        self.start = 0  # where the last message read starts
        self.phase = _FIRST
        self.columns = 0
        self.first = True
        self.seq = 0  # the last packet's sequence number
        self.stale = False
        self.needed = 0  # the bytes the buffer must hold to go on, once `advance` answered None

    def advance(self, buffer: bytearray) -> int | None:
        """Read the messages `buffer` holds from `pos` on: the response's final status flags (ERR_STATUS after an
        ERR, LOCAL_INFILE when the database asks the client for a file) once it ended, else None (`pos` is
        then the start of the message not yet whole)."""
        pos, command = self.pos, self.command
        size_of_buffer = len(buffer)  # (it does not change here)
        while True:
            start = pos
            while True:  # the message's packets: up to one shorter than MAX_PAYLOAD
                if size_of_buffer < pos + 4:
                    self.pos, self.needed = start, pos + 4
                    return None
                length = buffer[pos] | buffer[pos + 1] << 8 | buffer[pos + 2] << 16
                end = pos + 4 + length
                if size_of_buffer < end:
                    self.pos, self.needed = start, end
                    return None
                seq, pos = buffer[pos + 3], end
                if length < MAX_PAYLOAD:
                    break
            size = pos - start - 4  # the payload's length (when it is one packet: the only case looked into)
            if size == 0:
                raise ProtocolError("an empty message in the database's response")
            kind = buffer[start + 4]
            status = None  # set when this message may end the response
            phase = self.phase
            if phase == _ROWS:
                if kind == 0xFF:
                    status = ERR_STATUS
                elif kind == 0xFE and size < 9:
                    status = _eof_status(buffer, start, size)
            elif phase == _COLUMNS:
                if self.columns:
                    self.columns -= 1
                else:  # the EOF after the column definitions
                    status = _eof_status(buffer, start, size)
                    if not (command == p.COM_STMT_EXECUTE and status & p.SERVER_STATUS_CURSOR_EXISTS):
                        self.phase, status = _ROWS, None
            elif kind == 0xFF:
                if self.first and self.watch_stale and size >= 3 and (
                        buffer[start + 5] | buffer[start + 6] << 8) in STALE_ERRORS:
                    self.stale = True  # the database closed this pooled connection; the command never ran
                status = ERR_STATUS
            elif kind == 0xFB and command == p.COM_QUERY:
                status = LOCAL_INFILE
            elif kind == 0x00:
                status = p.ok_status(bytes(buffer[start + 4:pos]))
            elif kind == 0xFE and size < 9:  # COM_SET_OPTION answers with EOF
                status = _eof_status(buffer, start, size)
            else:  # a result set: column count, column definitions, EOF, rows, EOF
                self.columns, _ = p.lenenc_int(buffer, start + 4)
                self.phase = _COLUMNS
            self.first = False
            if status is None:
                continue
            if status >= 0 and status & p.SERVER_MORE_RESULTS_EXISTS:
                self.phase = _FIRST
                continue
            self.pos, self.start, self.seq = pos, start, seq
            return status

    def rebase(self, consumed: int) -> None:
        """`consumed` bytes were taken off the buffer's start (all before `pos`)."""
        self.pos -= consumed
        self.needed -= consumed


async def relay_response(channel: Channel, out: Response, command: int) -> int:
    """The database's whole response to a COM_QUERY or COM_STMT_EXECUTE, from `channel` to `out`; its final
    status flags (ERR_STATUS after an ERR, LOCAL_INFILE when the database asks the client for a file)."""
    buffer = channel.buffer
    scan = Scan(command, out.watch_stale)
    while (status := scan.advance(buffer)) is None:
        if scan.pos > RELAY_BUFFER:  # a long result goes on, all but the message being read
            out.pending += buffer[:scan.pos]
            out.pass_on()
            del buffer[:scan.pos]
            scan.rebase(scan.pos)
        await channel.receive(scan.needed)
    if scan.stale:
        del buffer[:scan.pos]
        out.stale = True
        return ERR_STATUS
    out.pending += buffer[:scan.start]  # all but the last message; the buffer keeps what comes after
    out.last = bytes(buffer[scan.start:scan.pos])
    del buffer[:scan.pos]
    channel.seq, channel.raw = (scan.seq + 1) & 0xFF, out.last
    return status


def _eof_status(buffer: bytearray, start: int, size: int) -> int:
    """An EOF packet's status flags (after its two bytes of warnings)."""
    return buffer[start + 7] | buffer[start + 8] << 8 if size >= 5 else 0

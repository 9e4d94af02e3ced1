"""One side of a MySQL connection as the proxy holds it: what arrives, in a buffer read as packets, and
what goes out, with the packets' sequence numbers; TLS when the client starts it.

Each connection is an asyncio Protocol (`Link`) whose received bytes land in the channel's buffer as
they come: a reader waits on a future only when the buffer is short of what it needs. No stream
object, no copy per read, nothing to call between the event loop and the packets (this is the
relay's hot path: a SELECT's response is read where it lies in this buffer, response.py).
Backpressure both ways: reading pauses while the buffer holds more than a reader needs and
BUFFER_LIMIT, and `flush()` waits while the transport's own write buffer is full.
"""
from __future__ import annotations

import asyncio
import socket
import ssl
import struct
from collections.abc import Callable, Coroutine
from contextlib import suppress
from typing import Any, cast

from .protocol import MAX_PAYLOAD, PacketTooLarge, ProtocolError

TLS_READ_CHUNK = 65536  # plaintext bytes taken from the TLS layer at a time
BUFFER_LIMIT = 2 << 20  # bytes received ahead of what a reader asked for, at most, before reading pauses


class Link(asyncio.Protocol):
    """A connection's transport, and what it received that its channel has not read yet."""

    def __init__(self, on_connect: Callable[[Channel], Coroutine[Any, Any, None]] | None = None):
        self.on_connect = on_connect  # a server's connection: its session, run as a task of its own
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.needed = 0  # what the waiting reader needs in the buffer
        self.eof = False  # the peer closed its side, or the connection is lost
        self.task: asyncio.Task[None] | None = None
        self.tls: _Tls | None = None  # once the client started TLS: what arrives is decrypted as it comes
        # Called instead of waking a reader when something arrives (and at the end): a session's relay in
        # callbacks (fast_path.py) while it is installed.
        self.handler: Callable[[], None] | None = None
        self._reading_paused = False
        self._waiter: asyncio.Future[None] | None = None  # a reader waiting for data
        self._writable: asyncio.Future[None] | None = None  # a flush waiting for the write buffer to drain
        self.writing_paused = False  # the transport's write buffer is full (the peer does not read what it is sent)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's TCPTransport: no asyncio subclass
        if self.on_connect is not None:
            self.task = asyncio.get_running_loop().create_task(self.on_connect(Channel(self)))

    def data_received(self, data: bytes) -> None:
        tls = self.tls
        if tls is None:
            self.buffer += data
        else:
            tls.decrypt(data, self.buffer)
        if self.handler is not None:  # (the hot path: no call between)
            self.handler()
        elif len(self.buffer) >= self.needed or self.eof:
            self._wake()
        else:
            return
        if len(self.buffer) > BUFFER_LIMIT and self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()
            self._reading_paused = True

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return True  # half-closed: what is being answered still goes out; the next read ends the session

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self._wake()
        self.writing_paused = False
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def _wake(self) -> None:
        if self.handler is not None:
            self.handler()
        elif self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def resume_reading(self) -> None:
        """Read again after a pause for a full buffer (a handler read what it needed of it)."""
        if self._reading_paused and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()

    async def receive(self, needed: int) -> None:
        """Wait until the buffer holds `needed` bytes (ProtocolError when the connection ends first)."""
        while len(self.buffer) < needed:
            if self.eof:
                raise ProtocolError("the connection closed")
            self.needed = needed
            self.resume_reading()
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter, self.needed = None, 0

    async def drain(self) -> None:
        """Wait while the transport's write buffer is full (ConnectionError once the connection is lost)."""
        if self.transport is None or self.transport.is_closing():
            raise ConnectionError("the connection is closed")
        if self.writing_paused:
            self._writable = asyncio.get_running_loop().create_future()
            try:
                await self._writable
            finally:
                self._writable = None
            if self.transport.is_closing():
                raise ConnectionError("the connection is closed")

    def write(self, data: bytes | bytearray) -> None:
        assert self.transport is not None
        try:
            self.transport.write(data)
        except RuntimeError as e:  # uvloop's answer on a closed transport (the peer closed it meanwhile)
            raise ConnectionError("the connection is closed") from e


async def connect(host: str, port: int) -> Channel:
    """A channel on a new TCP connection (OSError when it cannot be made)."""
    _, link = await asyncio.get_running_loop().create_connection(Link, host, port)
    return Channel(link)


class _Tls:
    """TLS over an established connection, in memory (ssl.MemoryBIO): what the client sent right after its
    SSLRequest may already sit in the buffer, where asyncio's start_tls would never see it. Once the
    handshake is done, the link decrypts what it receives as it comes (`decrypt`, in its callback), so
    its buffer holds plaintext and everything above reads a TLS connection as a plain one."""

    def __init__(self, link: Link, context: ssl.SSLContext):
        self.link = link
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self.closed = False  # the client ended its TLS session (close_notify) or broke it

    async def handshake(self) -> None:
        link = self.link
        while True:
            if link.buffer:  # (encrypted: the link decrypts only once the handshake is done)
                self.incoming.write(link.buffer)
                link.buffer.clear()
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._send()
                await link.drain()
                try:
                    await link.receive(1)
                except ProtocolError:
                    raise ProtocolError("the connection closed during TLS") from None
        self._send()
        await link.drain()

    def version(self) -> str | None:
        return self.tls.version()

    def decrypt(self, data: bytes, into: bytearray) -> None:
        """Received bytes to the TLS layer, and the plaintext there is now into `into` (the client's end of
        the session is the link's end: `eof`)."""
        if self.closed:
            return  # after the client's close_notify nothing more is read
        if data:
            self.incoming.write(data)
        while True:
            try:
                chunk = self.tls.read(TLS_READ_CHUNK)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLError:  # SSLZeroReturnError, SSLEOFError, a broken record: the session is over
                self.closed = True
                break
            if not chunk:  # after the client's close_notify, read() answers b"" (it does not raise)
                self.closed = True
                break
            into += chunk
            if not self.incoming.pending and not self.tls.pending():
                break  # all read (another read() would only raise SSLWantReadError)
        if self.closed:
            self.link.eof = True
        if self.outgoing.pending:  # what the TLS layer answers on its own (an alert, a key update)
            with suppress(ConnectionError):  # (in a callback: the closed connection is seen by its reader)
                self._send()

    def write(self, data: bytes | bytearray) -> None:
        self.tls.write(data)
        self._send()

    def _send(self) -> None:
        if data := self.outgoing.read():
            self.link.write(data)


class Channel:
    """One side of a MySQL connection: whole messages in and out, with the packet sequence numbers."""

    def __init__(self, link: Link):
        self.link = link
        self.seq = 0
        self.raw = b""  # the last message as it came: its packets, headers included (to pass on unchanged)
        self.limit: int | None = None  # the longest message read (PacketTooLarge past it); None: any
        self.buffer = link.buffer  # what was received and not yet read as packets (plaintext)

    @property
    def peer_host(self) -> str:
        """The address the connection comes from ("localhost" when the transport does not say)."""
        transport = self.link.transport
        peer = transport.get_extra_info("peername") if transport is not None else None
        return str(peer[0]) if peer else "localhost"

    def at_eof(self) -> bool:
        """The peer closed the connection and everything it sent was read."""
        return self.link.eof and not self.buffer

    async def start_tls(self, context: ssl.SSLContext) -> None:
        """From here on, everything in and out is encrypted (the server side of the TLS handshake)."""
        tls = _Tls(self.link, context)  # what is in the buffer already is the client's first TLS record
        await tls.handshake()
        self.link.tls = tls
        tls.decrypt(b"", self.buffer)  # what came with the handshake's last record

    @property
    def tls_version(self) -> str | None:
        return self.link.tls.version() if self.link.tls else None

    async def receive(self, needed: int) -> None:
        """Receive until the buffer holds `needed` bytes (whatever arrives is kept: often the packets after)."""
        await self.link.receive(needed)

    async def read(self) -> bytes:
        """The next message; its sequence number is remembered (the answer continues from it)."""
        parts: list[bytes] = []
        frames: list[bytes] = []
        buffer = self.buffer
        while True:
            if len(buffer) < 4:
                await self.receive(4)
            length = buffer[0] | buffer[1] << 8 | buffer[2] << 16
            if self.limit is not None and length > self.limit - (sum(map(len, parts)) if parts else 0):
                self.seq = (buffer[3] + 1) & 0xFF  # the error answers this packet
                del buffer[:4]  # its header is read, its payload is not
                raise PacketTooLarge(f"a message longer than {self.limit} bytes")
            end = 4 + length
            if len(buffer) < end:
                await self.receive(end)
            self.seq = (buffer[3] + 1) & 0xFF
            frame = bytes(buffer[:end])
            del buffer[:end]
            if length < MAX_PAYLOAD and not parts:  # the usual case: one packet
                self.raw = frame
                return frame[4:]
            parts.append(frame[4:])
            frames.append(frame)
            if length < MAX_PAYLOAD:
                self.raw = b"".join(frames)
                return b"".join(parts)

    def write(self, payload: bytes) -> None:
        """Queue one message (split into packets of at most 16 MB), numbered from the current sequence."""
        out = bytearray()
        view = memoryview(payload)
        while True:
            chunk = view[:MAX_PAYLOAD]
            out += len(chunk).to_bytes(3, "little") + bytes([self.seq]) + chunk
            self.seq = (self.seq + 1) & 0xFF
            view = view[MAX_PAYLOAD:]
            if len(chunk) < MAX_PAYLOAD:
                break
        self.write_raw(out)

    def write_raw(self, frames: bytes | bytearray) -> None:
        """Pass on packets as they are (headers and sequence numbers included)."""
        if self.link.tls:
            try:
                self.link.tls.write(frames)
            except RuntimeError as e:  # uvloop's answer on a closed transport
                raise ConnectionError("the connection is closed") from e
        else:
            self.link.write(frames)

    async def flush(self) -> None:
        await self.link.drain()

    def close(self) -> None:
        transport = self.link.transport
        if transport is not None and not transport.is_closing():
            transport.close()

    def close_unread(self) -> None:
        """Close as a server closes a connection with data it did not read: with a TCP reset (so the
        client's next write fails, as it fails on the database's connection), after what was written."""
        transport = self.link.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()

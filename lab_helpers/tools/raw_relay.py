"""`python -m lab_helpers.tools.raw_relay PORT TARGET_PORT`: a raw byte relay on uvloop, the proxy bench's floor.

Each connection to 127.0.0.1:PORT gets one to 127.0.0.1:TARGET_PORT, and bytes go both ways as they come,
in asyncio Protocol callbacks: no packet read, no task, no pool; after each write the loop polls on for a
moment, as the proxy's does (rds/proxy/busy_poll.py). What it adds to a query is what any relay written in
Python adds on this machine, so `make bench` shows it beside the RDS Proxy emulator's figures: the
difference is the proxy's own work (#21's target for the proxy, 0.05 ms p50, is such a relay's cost as once
measured, then without polling).
"""
from __future__ import annotations

import asyncio
import sys
from typing import cast

import uvloop

from ..local import BusyPoll, default_window

HOST = "127.0.0.1"
POLL = BusyPoll(default_window())  # (one loop: the relay's)


class _Side(asyncio.Protocol):
    """One side of a relayed connection; what it receives goes to the other side (held until it connects)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.connection: object = self  # what both sides of one relayed connection have in common (BusyPoll)
        self.held: list[bytes] = []
        self.connecting: asyncio.Task[None] | None = None  # the client side's connection to the target

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's TCPTransport: no asyncio subclass
        if self.held:
            self.transport.writelines(self.held)
            self.held.clear()

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.write(data)
            POLL.poke(self.connection)
        elif peer is not None:
            peer.held.append(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()


def _client_side(target_port: int) -> _Side:
    client, target = _Side(), _Side()
    client.peer, target.peer = target, client
    target.connection = client

    async def connect() -> None:
        try:
            await asyncio.get_running_loop().create_connection(lambda: target, HOST, target_port)
        except OSError:
            if client.transport is not None:
                client.transport.close()

    client.connecting = asyncio.get_running_loop().create_task(connect())
    return client


async def _serve(port: int, target_port: int) -> None:
    server = await asyncio.get_running_loop().create_server(lambda: _client_side(target_port), HOST, port)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m lab_helpers.tools.raw_relay PORT TARGET_PORT", file=sys.stderr)
        return 2
    uvloop.run(_serve(int(args[0]), int(args[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A TCP hop between the proxy and the database that passes the database's bytes on in the pieces a test
chooses (`shape`): how a response looks to the proxy when the network cuts it up, or when the database
sends something after it; and that may answer what the proxy sends in the database's stead and close the
connection (`answer`), as a database that had closed it would."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress


class Interposer:
    def __init__(self, target_port: int, shape: Callable[[bytes], list[bytes]] = lambda data: [data],
                 answer: Callable[[bytes], bytes | None] = lambda data: None, pause_s: float = 0.001):
        self.target_port, self.shape, self.answer, self.pause_s = target_port, shape, answer, pause_s
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with suppress(OSError):  # (closed)
            while True:
                proxy_side, _ = self.listener.accept()
                db_side = socket.create_connection(("127.0.0.1", self.target_port))
                for sock in (proxy_side, db_side):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each piece goes as it is
                self.sockets += [proxy_side, db_side]
                threading.Thread(target=self._pump, args=(proxy_side, db_side, True), daemon=True).start()
                threading.Thread(target=self._pump, args=(db_side, proxy_side, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_proxy: bool) -> None:
        with suppress(OSError):
            while data := source.recv(1 << 20):
                if from_proxy and (reply := self.answer(data)) is not None:
                    source.sendall(reply)  # (and the connection closes)
                    break
                pieces = self.shape(data) if not from_proxy else [data]
                for i, piece in enumerate(pieces):
                    if i:
                        time.sleep(self.pause_s)  # (the proxy reads each piece on its own)
                    sink.sendall(piece)
        for sock in (source, sink):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()
        for sock in self.sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

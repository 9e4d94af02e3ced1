"""`python -m lab_helpers.local.rds.proxy --name N --settings F --port P --control-port C`: one DB proxy's process.

The local cloud starts one per DB proxy (process.ProxyProcess). It serves MySQL clients on
127.0.0.1:P, reads its settings from F whenever the file changes, answers its counters as JSON to
any connection on 127.0.0.1:C (computed on its event loop: {"loop_answering": false} when the loop
does not answer, which the cloud's watchdog treats as a crash), and stops on SIGTERM.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socketserver
import sys
import threading
from pathlib import Path

from ...errors import LocalCloudError
from ...logs import RotatingOutput
from ...ports import HOST
from .process import SettingsFile
from .server import RdsProxy

LOOP_ANSWER_TIMEOUT = 1.0  # seconds the event loop has to answer the control port before it counts as stalled
TEST_HOOKS_ENV = "LAB_PROXY_TEST_HOOKS"  # "1": SIGUSR1 blocks the event loop (tests of the watchdog)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab_helpers.local.rds.proxy")
    parser.add_argument("--name", required=True)
    parser.add_argument("--settings", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-port", type=int, required=True)
    args = parser.parse_args(argv)
    output = RotatingOutput(Path(args.settings).with_suffix(".log"))  # where ProxyProcess points fds 1 and 2
    output.setFormatter(logging.Formatter(f"%(asctime)s rds-proxy {args.name} %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[output])
    proxy = RdsProxy(args.name, SettingsFile(args.settings), port=args.port)

    class Control(socketserver.BaseRequestHandler):
        def handle(self) -> None:  # the counters come from the event loop itself: a stalled loop shows
            stats = proxy.stats_from_loop(LOOP_ANSWER_TIMEOUT)
            answer = {**stats, "loop_answering": True} if stats is not None else {"loop_answering": False}
            self.request.sendall(json.dumps({**answer, "port": proxy.port}).encode())

    class ControlServer(socketserver.ThreadingTCPServer):
        allow_reuse_address = True  # the same port again after a restart
        daemon_threads = True

    stop = threading.Event()
    if os.environ.get(TEST_HOOKS_ENV) == "1":
        signal.signal(signal.SIGUSR1, lambda *_: proxy.block_loop_for_test(3600))
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        proxy.start()
        control = ControlServer((HOST, args.control_port), Control)
    except (LocalCloudError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        proxy.stop()
        return 2
    threading.Thread(target=control.serve_forever, name="control", daemon=True).start()
    stop.wait()
    control.shutdown()
    proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

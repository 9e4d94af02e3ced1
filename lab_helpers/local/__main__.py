"""`python -m lab_helpers.local up | down | status` (and `serve`, which `up` runs in the background)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from . import lifecycle, state
from .errors import LocalCloudError


def _print_status(st: dict[str, Any]) -> None:
    if not st.get("running") or "endpoint" not in st:
        print(st.get("message", "not running"))
        return
    rows = [("endpoint (moto + providers)", st["endpoint"]), ("database (MariaDB)", st["database"]),
            ("RDS data plane", st["rds"])]
    rows += [(f"RDS Proxy {p['name']} (pool {p.get('backend_open', '?')}/{p.get('pool_size', '?')}, "
              f"clients {p.get('clients', '?')}, pinned {p.get('pinned', '?')}, restarts {p.get('restarts', 0)})",
              {"address": f"127.0.0.1:{p['port']}", **p}) for p in st["proxies"]]
    if not st["proxies"]:
        rows.append(("RDS Proxy: none yet", {}))
    environments = st["lambda"]["environments"]
    rows.append((f"Lambda execution environments: {len(environments) or 'none yet'}", st["lambda"]))
    for env in environments:
        rows.append((f"  {env['function']} ({env['state']}, {env['invocations']} invocations)",
                     {"address": f"pid {env['pid']}" if env.get("pid") else "not started"}))
    stages = st["apigateway"].get("stages", [])
    rows.append((f"API Gateway stage URLs: {len(stages) or 'none yet'}", st["apigateway"]))
    for stage in stages:
        rows.append((f"  {stage['api']} ({stage['stage']}, {stage['region']})",
                     {"address": stage["address"], "healthy": st["apigateway"].get("healthy", True)}))
    width = max(len(name) for name, _ in rows)
    for name, component in rows:
        health = "healthy" if component.get("healthy", True) else "UNHEALTHY"
        print(f"{name:<{width}}  {component.get('address', ''):<44}  {health}")
        for key in ("last_fault", "error", "last_restart"):
            if component.get(key):
                print(f"{'':<{width}}    {key.replace('_', ' ')}: {component[key]}")


def main(argv: list[str] | None = None) -> int:
    """`python -m lab_helpers.local up | down | status | serve`; the exit code says how it went."""
    parser = argparse.ArgumentParser(prog="python -m lab_helpers.local", description="The lab's local cloud.")
    parser.add_argument("command", choices=["up", "down", "status", "serve"])
    parser.add_argument("--state-dir", type=Path, default=None, help="state folder (default: LAB_STATE_DIR or .lab)")
    parser.add_argument("--port", type=int, default=None,
                        help="endpoint port (default: LAB_LOCAL_PORT, else the one the state folder remembers, "
                             "else 24566 when free, else a free one)")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            info = lifecycle.up(args.state_dir, args.port)
            print(f"local cloud up at {info['endpoint']} (state in {info['root']})")
        elif args.command == "down":
            print(lifecycle.describe_down(lifecycle.down(args.state_dir)))
        elif args.command == "status":
            st = lifecycle.status(args.state_dir)
            _print_status(st)
            return 0 if st.get("running") and st.get("healthy") else 1
        else:
            from .cloud import serve
            root = (args.state_dir or state.state_dir()).resolve()
            serve(root, lifecycle.endpoint_port(args.port, root))
    except LocalCloudError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

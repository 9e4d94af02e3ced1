# Loaded by Python at start-up in every local Lambda execution environment (it is on PYTHONPATH
# after the task root). It plays the part of the VPC's DNS: RDS and RDS Proxy endpoint names
# resolve to the local cloud's servers. The function's code is not changed or told.
import importlib.util
import os
import socket

_map = os.environ.get("LAB_DNS_MAP")
if _map:
    _path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "dns_map.py")
    _spec = importlib.util.spec_from_file_location("_lab_dns_map", _path)
    if _spec is None or _spec.loader is None:
        raise ImportError(f"the local cloud's name resolution cannot be loaded from {_path}")
    _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
    _module.patch_getaddrinfo(socket, _module.DnsMap(_map))

"""The lab's local cloud: AWS's control plane from moto, and a real data plane (MariaDB, an RDS
Proxy emulator, Lambda on awslambdaric, the API Gateway stage URL), all on 127.0.0.1.

    from lab_helpers import local
    local.up(); local.status(); local.down()
    local.RunningCloud.find().health()   # the running cloud, typed (client.py)

What is exported here is all that code outside `local/` uses (tests/test_structure.py checks that nothing
outside imports a module below it): the running cloud's client, starting and stopping clouds (a fresh one of
its own for the benchmarks), the processes' figures from /proc, and, for the benchmarks and `make conformance`
that run them on their own, the data plane's database and RDS Proxy (and the proxy's polling between packets,
which the benchmarks' raw relay does too).
"""
from .client import (
    LEARNER_ACCESS_KEY,
    LEARNER_SECRET_KEY,
    CloudRecord,
    Health,
    ProxyStatus,
    RotationStatus,
    RunningCloud,
    health_at,
)
from .errors import LocalCloudError
from .lifecycle import EXPORTED, down, fresh, lab_processes, status, up
from .ports import HOST, free_port
from .processes import cpu_seconds
from .processes import memory as process_memory
from .processes import status as process_status
from .rds.mariadb import MariaDB, admin_connect, admin_query
from .rds.proxy import ProxySettings, RdsProxy
from .rds.proxy.busy_poll import BusyPoll, default_window
from .rds.proxy.certificates import CertificateAuthority
from .rds.proxy.process import ProxyProcess
from .state import DEFAULT_PORT

__all__ = [
    "DEFAULT_PORT",
    "EXPORTED",
    "HOST",
    "LEARNER_ACCESS_KEY",
    "LEARNER_SECRET_KEY",
    "BusyPoll",
    "CertificateAuthority",
    "CloudRecord",
    "Health",
    "LocalCloudError",
    "MariaDB",
    "ProxyProcess",
    "ProxySettings",
    "ProxyStatus",
    "RdsProxy",
    "RotationStatus",
    "RunningCloud",
    "admin_connect",
    "admin_query",
    "cpu_seconds",
    "default_window",
    "down",
    "fresh",
    "free_port",
    "health_at",
    "lab_processes",
    "process_memory",
    "process_status",
    "status",
    "up",
]

"""The lab's local cloud: AWS's control plane from moto, and a real data plane (MariaDB, an RDS
Proxy emulator, Lambda on awslambdaric, the API Gateway stage URL), all on 127.0.0.1.

    from lab_helpers import local
    local.up(); local.status(); local.down()
    local.RunningCloud.find().health()   # the running cloud, typed (client.py)
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
from .lifecycle import down, status, up

__all__ = [
    "LEARNER_ACCESS_KEY",
    "LEARNER_SECRET_KEY",
    "CloudRecord",
    "Health",
    "LocalCloudError",
    "ProxyStatus",
    "RotationStatus",
    "RunningCloud",
    "down",
    "health_at",
    "status",
    "up",
]

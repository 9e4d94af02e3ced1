"""The running local cloud as everything outside `local/` sees it: one typed client.

Its record (what `up` wrote in cloud.json: process, endpoint, ports, the database's socket) and its health
(what the endpoint answers at /_lab/health: the database, each RDS Proxy, rotations, Lambda environments)
come back as frozen dataclasses; nobody outside `local/` reads the JSON by hand.

    from lab_helpers.local import RunningCloud
    cloud = RunningCloud.find()          # or an error that says how to start it
    cloud.endpoint, cloud.record.database.port
    cloud.health().proxy("serverless-app-proxy").port
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import state
from .errors import LocalCloudError
from .processes import is_same_process

# The keys the local cloud gives the learner's boto3: it issued them (they are its account's administrator), so what
# they sign, an RDS IAM authentication token for one, it can check (rds/db_auth.py).
LEARNER_ACCESS_KEY, LEARNER_SECRET_KEY = "lab", "lab"


@dataclass(frozen=True)
class DatabaseRecord:
    pid: int | None
    port: int
    socket: str  # its unix socket: root's way in (the operator's view)


@dataclass(frozen=True)
class CloudRecord:
    """What `up` recorded of the running cloud."""
    pid: int
    identity: dict[str, Any] | None
    endpoint: str
    port: int
    region: str
    root: Path
    database: DatabaseRecord

    @classmethod
    def from_json(cls, info: dict[str, Any]) -> CloudRecord:
        db = info.get("mariadb") or {}
        return cls(pid=int(info["pid"]), identity=info.get("identity"), endpoint=info["endpoint"],
                   port=int(info["port"]), region=info.get("region", ""), root=Path(info.get("root", "")),
                   database=DatabaseRecord(db.get("pid"), int(db.get("port") or 0), db.get("socket", "")))


@dataclass(frozen=True)
class ProxyStatus:
    """One RDS Proxy of the cloud: its name, the local port its endpoint name resolves to, and its pool's figures
    (pool_size, backend_open, backend_in_use, peak_backend_open, borrow_timeouts, clients, pinned, ...)."""
    name: str
    region: str
    port: int
    healthy: bool
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RotationStatus:
    """The last rotation of one secret, as the local Secrets Manager ran it."""
    secret: str
    token: str
    step: str | None
    outcome: str | None  # "running", "succeeded", "failed"
    error: str | None


@dataclass(frozen=True)
class Health:
    database_healthy: bool
    max_connections: int | None
    threads_connected: int | None
    proxies: tuple[ProxyStatus, ...]
    rotations: tuple[RotationStatus, ...]
    raw: dict[str, Any]  # the whole answer, for `status`

    @classmethod
    def from_json(cls, answer: dict[str, Any]) -> Health:
        db = answer.get("database") or {}
        proxies = tuple(ProxyStatus(p["name"], p.get("region", ""), int(p.get("port") or 0),
                                    bool(p.get("healthy", True)), dict(p))
                        for p in answer.get("proxies") or [])
        rotations = tuple(RotationStatus(r.get("secret", ""), r.get("token", ""), r.get("step"), r.get("outcome"),
                                         r.get("error"))
                          for r in (answer.get("secretsmanager") or {}).get("rotations") or [])
        return cls(bool(db.get("healthy")), db.get("max_connections"), db.get("threads_connected"), proxies,
                   rotations, answer)

    def proxy(self, name: str, region: str | None = None) -> ProxyStatus | None:
        return next((p for p in self.proxies if p.name == name and region in (None, p.region)), None)

    def rotation(self, token: str) -> RotationStatus | None:
        return next((r for r in self.rotations if r.token == token), None)


class RunningCloud:
    """A local cloud that runs now (its record checked against its process)."""

    def __init__(self, record: CloudRecord):
        self.record = record

    @classmethod
    def find(cls, root: Path | None = None) -> RunningCloud:
        """The cloud of the state folder (LAB_STATE_DIR, else the default), or LocalCloudError saying how to
        start it."""
        info = state.read(root)
        if not info or not is_same_process(info.get("pid"), info.get("identity")):
            raise LocalCloudError(state.NOT_RUNNING)
        return cls(CloudRecord.from_json(info))

    @staticmethod
    def recorded(root: Path | None = None) -> str:
        """"running", "stale" (a record whose process is gone: stopped without `down`, or the machine restarted)
        or "none"."""
        info = state.read(root)
        if not info:
            return "none"
        return "running" if is_same_process(info.get("pid"), info.get("identity")) else "stale"

    @classmethod
    def serving(cls, endpoint: str, root: Path | None = None) -> RunningCloud:
        """The running cloud whose endpoint is `endpoint` (a Lab's), or LocalCloudError."""
        cloud = cls.find(root)
        if cloud.endpoint != endpoint:
            raise LocalCloudError(f"the local cloud of this state folder serves {cloud.endpoint}, not {endpoint}: "
                                  "set LAB_STATE_DIR to the state folder of the cloud the lab uses.")
        return cloud

    @property
    def endpoint(self) -> str:
        return self.record.endpoint

    def health(self, timeout: float = 2.0) -> Health:
        """What the cloud says of itself now, or LocalCloudError when it does not answer."""
        return health_at(self.endpoint, timeout)


def health_at(endpoint: str, timeout: float = 2.0) -> Health:
    """The health of the cloud serving `endpoint` (a Lab's endpoint_url), or LocalCloudError when none answers."""
    answer = state.health(endpoint, timeout=timeout)
    if answer is None:
        raise LocalCloudError(f"the local cloud at {endpoint} does not answer: "
                              "`python -m lab_helpers.local status` shows why.")
    return Health.from_json(answer)

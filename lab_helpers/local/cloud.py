"""The local cloud: one process that serves the endpoint, plus a private MariaDB server.

`LocalCloud.start()` brings up, in this order: MariaDB (the RDS instances' server), the RDS data
plane (proxies and VPC DNS), the Lambda service (execution environments), the API Gateway stage
URLs, and the endpoint (moto + providers) on 127.0.0.1. `python -m lab_helpers.local serve` runs
one in the foreground; `lifecycle.up()` starts that in the background.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymysql

from ..core import paths
from . import logs, moto, processes, state
from .apigateway import ApiGatewayProvider
from .awslambda import LambdaProvider, LambdaService
from .awslambda import rules as lambda_rules
from .errors import LocalCloudError
from .faults import Faults
from .gateway import EndpointServer, Gateway
from .ports import HOST, ensure_free
from .rds import rules as rds_rules
from .rds.db_auth import DbAuthService
from .rds.iam_db_login import IamDbLogin
from .rds.mariadb import MariaDB
from .rds.provider import RdsDataPlane
from .secretsmanager import SecretsManagerProvider
from .validation import Strict
from .vpc import rules as vpc_rules
from .vpc.dry_run import DryRun
from .vpc.function_access import FunctionAccess

log = logging.getLogger(__name__)
WARM_UP_SERVICES = ("iam", "ec2", "rds", "secretsmanager", "lambda", "apigateway")


# The cloud's own region: the workshop's (Seoul). Lambda environments get it unless their function has another, and
# its backends are warmed up first; every region works (each call and function carries its own).
HOME_REGION = "ap-northeast-2"


class LocalCloud:
    def __init__(self, root: Path, port: int, region: str = HOME_REGION):
        self.root = Path(root)
        self.port = port
        self.region = region
        self.endpoint = f"http://{HOST}:{port}"
        self.started_at = time.time()
        self.faults = Faults()

    def start(self) -> None:
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"  # moto reads it when its IAM backend is built
        ensure_free(self.port, "the local cloud's endpoint", "LAB_LOCAL_PORT")
        self.root.mkdir(parents=True, exist_ok=True)
        self.mariadb = MariaDB(self.root / "mariadb")
        self.mariadb.start(template=self.root / "mariadb-template")
        try:
            self.rds = RdsDataPlane(self.mariadb, self.root, self.faults, self.endpoint)
            runtime_env = {  # the execution role's credentials and the function's region come per function
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region,
                "PYTHONPATH": str(paths.LAMBDA_SITE),
                "LAB_DNS_MAP": str(self.root / "dns.json"),
                # the runtime's trust store: the system's CAs and the local CA (Amazon's roots, on AWS)
                "SSL_CERT_FILE": str(self.rds.ca.bundle_path),
            }
            self.lambda_service = LambdaService(self.root / "lambda", runtime_env)
            access = FunctionAccess()
            self.lambdas = LambdaProvider(self.lambda_service, access, self.endpoint)
            self.apigw = ApiGatewayProvider(self.lambdas)
            self.secrets = SecretsManagerProvider(self.lambdas)
            # a function's calls first meet its network path and role; then every call what AWS would refuse;
            # then EC2's dry runs are answered (a valid one "would have succeeded")
            self.strict = Strict({"lambda": lambda_rules.RULES, "rds": rds_rules.RULES, "ec2": vpc_rules.RULES},
                                 default_region=self.region)
            self.patched = threading.Event()  # moto's patches applied (at the start of the warm-up)
            db_auth = DbAuthService(access, self.rds.proxy_roles)
            gateway = Gateway(providers=[db_auth, IamDbLogin(self.mariadb, db_auth), self.lambdas, self.apigw,
                                         self.secrets, self.rds],
                              guards=[access, self.strict, DryRun()],
                              health=self.health,
                              faults=self.faults,
                              ready=self.patched)
            try:
                self.server = EndpointServer(HOST, self.port, gateway)
            except OSError as e:
                raise LocalCloudError(f"cannot listen on {HOST}:{self.port} ({e.strerror}): stop the program using "
                                      "it or set LAB_LOCAL_PORT to another port, then try again.") from e
            self.thread = threading.Thread(target=self.server.serve_forever, name="endpoint", daemon=True)
            self.thread.start()
            threading.Thread(target=self._warm_up, name="warm-up", daemon=True).start()
        except BaseException:
            if hasattr(self, "rds"):
                self.rds.stop()
            self.mariadb.stop()
            raise

    def _warm_up(self) -> None:
        """Apply moto's patches (AWS calls wait for them), then build moto's backends of the lab's services, so
        the first calls are not slow (~1 s each). Both after start-up: `up` answers sooner."""
        try:
            moto.patches.apply_all(endpoint=self.endpoint, target_health=self.rds.target_health)
        except moto.MotoContractError as e:
            self.faults.report("endpoint", "patching moto", e)
        finally:
            self.patched.set()
        try:
            moto.warm_up(WARM_UP_SERVICES, self.region)
            self.strict.warm_up()
        except moto.MotoContractError as e:
            self.faults.report("endpoint", "warming up moto's backends", e)

    def info(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "identity": processes.process_identity(os.getpid()),
                "endpoint": self.endpoint, "port": self.port, "region": self.region,
                "root": str(self.root), "started_at": self.started_at,
                "mariadb": {"pid": self.mariadb.pid, "port": self.mariadb.port, "socket": self.mariadb.socket}}

    def health(self) -> dict[str, Any]:
        address = f"{HOST}:{self.mariadb.port}"
        try:
            database = self.faults.health("database", address=address, restarts=self.rds.engine_restarts,
                                          account=self.mariadb.account,
                                          max_connections=self.mariadb.get_max_connections(),
                                          threads_connected=self.mariadb.threads_connected())
        except pymysql.MySQLError as e:  # the server does not answer
            database = {"address": address, "healthy": False, "error": str(e)}
        return {
            "endpoint": self.faults.health("endpoint", address=self.endpoint, connections=self.server.connections,
                                           max_connections=self.server.max_connections,
                                           refused_connections=self.server.refused),
            "database": database,
            "rds": self.faults.health("rds"),
            "proxies": self.rds.status(),
            "lambda": self.faults.health("lambda", **self.lambdas.health()),
            "apigateway": self.faults.health("apigateway", stages=self.apigw.stages(self.port)),
            "secretsmanager": self.faults.health("secretsmanager", **self.secrets.health()),
        }

    def stop(self) -> None:
        steps: tuple[Callable[[], object], ...] = (lambda: self.server.shutdown(), lambda: self.server.server_close(),
                     lambda: self.lambda_service.shutdown(), lambda: self.rds.stop(), lambda: self.mariadb.stop())
        for step in steps:
            try:
                step()
            except AttributeError:
                pass  # never started
            except Exception:  # stopping goes on with the next part whatever this one did
                log.exception("while stopping the local cloud")


def serve(root: Path, port: int, region: str = HOME_REGION) -> None:
    """Run the local cloud in the foreground until SIGTERM or SIGINT."""
    output = logs.RotatingOutput(root / "cloud.log")  # `up` points fds 1 and 2 at it
    output.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[output])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    cloud = LocalCloud(root, port, region)
    try:
        try:
            cloud.start()
        except Exception as e:  # said in this start's log, for `up` to show
            log.error("the local cloud could not start: %s", e, exc_info=not isinstance(e, LocalCloudError))
            raise
        state.write(cloud.info(), cloud.root)
        log.info("local cloud ready at %s", cloud.endpoint)
        stop.wait()
    finally:
        cloud.stop()
        state.cloud_file(cloud.root).unlink(missing_ok=True)
        log.info("local cloud stopped")

"""The local cloud: one process that serves the endpoint, plus a private MariaDB server.

`LocalCloud.start()` brings up, in this order: MariaDB (the RDS instances' server), the RDS data
plane (proxies and VPC DNS), the Lambda service (execution environments), and the endpoint
(moto + providers) on 127.0.0.1. `python -m lab_helpers.local serve` runs one in the foreground;
`lifecycle.up()` starts that in the background.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

from werkzeug.serving import make_server

from ..config import DEFAULT_REGION
from . import state
from .errors import LocalCloudError
from .mariadb import MariaDB
from .ports import HOST, ensure_free

log = logging.getLogger(__name__)
LAMBDA_SITE = Path(__file__).resolve().parent / "lambda_site"


class LocalCloud:
    def __init__(self, root: Path, port: int, region: str = DEFAULT_REGION):
        self.root = Path(root)
        self.port = port
        self.region = region
        self.endpoint = f"http://{HOST}:{port}"
        self.started_at = time.time()

    def start(self) -> None:
        # moto reads these when its backends are first built
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        from .apigw_provider import ApiGatewayProvider
        from .function_access import FunctionAccess
        from .gateway import Gateway, NoDelayRequestHandler
        from .lambda_provider import LambdaProvider
        from .lambda_runtime import LambdaService
        from .rds_provider import RdsDataPlane

        ensure_free(self.port, "the local cloud's endpoint", "LAB_LOCAL_PORT")
        self.root.mkdir(parents=True, exist_ok=True)
        self.mariadb = MariaDB(self.root / "mariadb")
        self.mariadb.start(template=self.root / "mariadb-template")
        try:
            self.rds = RdsDataPlane(self.mariadb, self.root / "dns.json")
            runtime_env = {  # the execution role's credentials come per function (function_access)
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region,
                "PYTHONPATH": str(LAMBDA_SITE),
                "LAB_DNS_MAP": str(self.root / "dns.json"),
            }
            self.lambda_service = LambdaService(self.root / "lambda", runtime_env)
            self.access = FunctionAccess()
            self.lambdas = LambdaProvider(self.lambda_service, self.access)
            self.apigw = ApiGatewayProvider(self.lambdas)
            self.gateway = Gateway(self)
            try:
                self.server = make_server(HOST, self.port, self.gateway, threaded=True,
                                          request_handler=NoDelayRequestHandler)
            except OSError as e:
                raise LocalCloudError(f"cannot listen on {HOST}:{self.port} ({e.strerror}): stop the program using "
                                      "it or set LAB_LOCAL_PORT to another port, then try again.") from e
            self.thread = threading.Thread(target=self.server.serve_forever, name="endpoint", daemon=True)
            self.thread.start()
            threading.Thread(target=_warm_up, args=(self.region,), name="warm-up", daemon=True).start()
        except BaseException:
            self.mariadb.stop()
            raise

    def info(self) -> dict:
        return {"pid": os.getpid(), "endpoint": self.endpoint, "port": self.port, "region": self.region,
                "root": str(self.root), "started_at": self.started_at,
                "mariadb": {"pid": self.mariadb.pid, "port": self.mariadb.port, "socket": self.mariadb.socket}}

    def health(self) -> dict:
        try:
            database = {"address": f"{HOST}:{self.mariadb.port}", "healthy": True,
                        "max_connections": self.mariadb.get_max_connections(),
                        "threads_connected": self.mariadb.threads_connected()}
        except Exception as e:
            database = {"address": f"{HOST}:{self.mariadb.port}", "healthy": False, "error": str(e)}
        return {
            "endpoint": {"address": self.endpoint, "healthy": True},
            "database": database,
            "proxies": self.rds.status(),
            "lambda": {"environments": self.lambda_service.environments()},
        }

    def stop(self) -> None:
        for step in (lambda: self.server.shutdown(), lambda: self.server.server_close(),
                     lambda: self.lambda_service.shutdown(), lambda: self.rds.stop(), lambda: self.mariadb.stop()):
            try:
                step()
            except AttributeError:
                pass  # never started
            except Exception:
                log.exception("while stopping the local cloud")


def _warm_up(region: str) -> None:
    """Build moto's backends of the lab's services after start-up, so the first calls are not slow (~1 s each)."""
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID

    for service in ("iam", "ec2", "rds", "secretsmanager", "lambda", "apigateway"):
        try:
            backends = get_backend(service)[DEFAULT_ACCOUNT_ID]
            backends["global" if service == "iam" else region]
        except Exception:
            log.exception("warming up moto's %s backend", service)


def serve(root: Path, port: int, region: str = DEFAULT_REGION) -> None:
    """Run the local cloud in the foreground until SIGTERM or SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("mysql_mimic").setLevel(logging.CRITICAL)  # it logs every client error and connection
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    cloud = LocalCloud(root, port, region)
    try:
        cloud.start()
        state.write(cloud.info(), cloud.root)
        log.info("local cloud ready at %s", cloud.endpoint)
        stop.wait()
    finally:
        cloud.stop()
        state.cloud_file(cloud.root).unlink(missing_ok=True)
        log.info("local cloud stopped")

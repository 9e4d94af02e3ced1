"""What the Lambda data plane runs and returns: a function version as deployed, and one invocation's result."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FunctionVersion:
    """A function's code and configuration, as the execution environments need them."""
    name: str
    arn: str
    code_sha256: str
    code_zip: bytes  # the deployed zip: the code that runs is the code deployed
    handler: str  # "lambda_function.lambda_handler"
    runtime: str  # e.g. "python3.12" (reported in AWS_EXECUTION_ENV; this venv's python runs it)
    timeout: float  # seconds
    memory_size: int  # MB
    environment: dict[str, str]  # the function's Environment.Variables
    config_key: str  # changes whenever code or configuration changes
    credentials: dict[str, str] = field(default_factory=dict)  # the execution role's AWS_ACCESS_KEY_ID etc.
    region: str = ""  # the function's region: the environment's AWS_REGION (empty: the service's default)


@dataclass(frozen=True)
class InvokeResult:
    payload: bytes
    function_error: str | None  # None or "Unhandled" (Lambda's X-Amz-Function-Error)
    log_tail: str  # the invocation's log, last 4 KB (what LogType=Tail returns)
    request_id: str
    duration_ms: float
    billed_duration_ms: int
    max_memory_used_mb: int
    init_duration_ms: float | None  # set on a cold start whose init succeeded
    environment_id: str


class TooManyRequests(Exception):
    """Every execution environment is busy and no more may be started (Lambda's 429)."""

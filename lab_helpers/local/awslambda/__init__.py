"""Lambda in the local cloud: moto keeps the functions; this package runs them.

- `provider`: the Invoke API (and retiring environments after code or configuration changes).
- `environments`: execution environments, each a real awslambdaric process, warm reuse, cold starts.
- `runtime_api`: the Runtime API each environment's runtime polls, and the environment's variables.
- `function`: what runs (FunctionVersion) and what comes back (InvokeResult).
"""
from .environments import LambdaService
from .function import FunctionVersion, InvokeResult, TooManyRequests
from .provider import FunctionNotFound, LambdaProvider, function_name, invoke_allowed

__all__ = ["FunctionNotFound", "FunctionVersion", "InvokeResult", "LambdaProvider", "LambdaService",
           "TooManyRequests", "function_name", "invoke_allowed"]

# An execution environment's bootstrap, run as `python -S -B bootstrap.py <handler>` in the task root.
# The interpreter has no site-packages: the import path is PYTHONPATH (the deployment package, the
# runtime's packages) and the standard library, as in Lambda's managed Python runtime. This file's own
# folder is taken off the path, so nothing of the local cloud is importable by the function (trace_env.py,
# next to this file, is loaded by its path).
import importlib.util
import os
import resource
import sys

_here = sys.path.pop(0)

# A safety net under the function's memory size (the platform ends an environment whose resident memory
# goes past it): address space for data beyond twice the memory size is refused at once.
_memory_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") or 0)
if _memory_mb:
    _limit = (2 * _memory_mb + 128) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (_limit, _limit))

try:
    importlib.import_module("sitecustomize")  # the VPC's DNS hook on PYTHONPATH (-S does not load it)
except ImportError:
    pass

from awslambdaric import bootstrap as _awslambdaric_bootstrap  # noqa: E402
from awslambdaric.__main__ import main  # noqa: E402

# The trace header of each invocation set without glibc keeping every value (trace_env.py says why).
_spec = importlib.util.spec_from_file_location("_lab_trace_env", os.path.join(_here, "trace_env.py"))
if _spec is None or _spec.loader is None:
    raise ImportError(f"the local cloud's trace_env.py cannot be loaded from {_here}")
_trace_env = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_trace_env)
_trace_env.install(_awslambdaric_bootstrap)

main(sys.argv)

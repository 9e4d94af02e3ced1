# An execution environment's bootstrap, run as `python -S -B bootstrap.py <handler>` in the task root.
# The interpreter has no site-packages: the import path is PYTHONPATH (the deployment package, the
# runtime's packages) and the standard library, as in Lambda's managed Python runtime. This file's own
# folder is taken off the path, so nothing of the local cloud is importable by the function.
import os
import resource
import sys

del sys.path[0]

# A safety net under the function's memory size (the platform ends an environment whose resident memory
# goes past it): address space for data beyond twice the memory size is refused at once.
_memory_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") or 0)
if _memory_mb:
    _limit = (2 * _memory_mb + 128) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (_limit, _limit))

try:
    import sitecustomize  # noqa: F401  the VPC's DNS hook on PYTHONPATH (-S does not load it)
except ImportError:
    pass

from awslambdaric.__main__ import main  # noqa: E402

main(sys.argv)

# The X-Ray trace header in the environment, set once per invocation without the C library keeping every
# value. Loaded by path from bootstrap.py inside an execution environment (standard library only).
#
# awslambdaric sets os.environ["_X_AMZN_TRACE_ID"] to each invocation's Lambda-Runtime-Trace-Id, a new
# value every time. os.environ's assignment calls setenv(3), and glibc's setenv never frees a value it
# was given (another thread may still hold the old pointer): about 100 bytes per invocation, 0.8 MB a
# minute for a busy execution environment, Runtime.OutOfMemory at 128 MB after about 90 minutes.
# Here the value goes to os.environ's mapping (what Python code and boto3 read) and to the C
# environment with putenv(3) from buffers this module owns, so each old value is freed.
from __future__ import annotations

import ctypes
import os
from typing import Any

NAME = "_X_AMZN_TRACE_ID"
KEEP = 2  # the newest buffers kept alive: a thread that read the previous value still reads valid memory

_libc = ctypes.CDLL(None, use_errno=True)
_libc.putenv.argtypes = [ctypes.c_char_p]
_libc.putenv.restype = ctypes.c_int
_buffers: list[ctypes.Array[ctypes.c_char]] = []
_environ: dict[bytes, bytes] = os.environ._data  # type: ignore[attr-defined]  # os._Environ's mapping; not in typeshed


def _put(entry: bytes) -> None:
    """putenv(3) `entry` ("NAME=value", or "NAME" to remove it) from a buffer of ours, kept while it is in use."""
    buffer = ctypes.create_string_buffer(entry)
    if _libc.putenv(buffer) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    _buffers.append(buffer)
    del _buffers[:-KEEP]


def set_trace_id(trace_id: str | None) -> None:
    """What awslambdaric's `update_xray_env_variable` does, without setenv(3): the header, or None to remove it."""
    key = os.fsencode(NAME)  # os.environ's encodekey and encodevalue on POSIX
    if trace_id is None:
        if key in _environ:
            _put(key)  # glibc's putenv of a name without "=" removes it
            del _environ[key]
        return
    value = os.fsencode(trace_id)
    _put(key + b"=" + value)
    _environ[key] = value


def install(bootstrap_module: Any) -> None:  # awslambdaric.bootstrap
    """Make awslambdaric's bootstrap set the trace header with `set_trace_id`."""
    bootstrap_module.update_xray_env_variable = set_trace_id

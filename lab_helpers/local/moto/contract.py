"""What the local cloud assumes of moto, and the little it needs of moto's server: the one account, the WSGI
application, answers in a service's wire format, and `assumption`, which turns a broken assumption about moto's
models into an error that names it (`tests/unit/test_moto_contract.py` fails first when a moto upgrade breaks one).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import moto
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

ACCOUNT = DEFAULT_ACCOUNT_ID  # the one account of the local cloud
RequestHandler = MotoRequestHandler  # moto's werkzeug request handler, which the endpoint extends


class MotoContractError(RuntimeError):
    """moto no longer holds its state the way the local cloud reads it: the installed moto differs from the pin."""


class FunctionNotFound(LookupError):
    """No Lambda function (or version) of that name in that region."""


@contextlib.contextmanager
def assumption(what: str) -> Iterator[None]:
    """Turn a broken assumption about moto's models into an error that names it."""
    try:
        yield
    except (AttributeError, KeyError, TypeError, ImportError) as e:
        raise MotoContractError(f"moto {moto.__version__} no longer matches the local cloud: {what} "
                                f"({type(e).__name__}: {e}). The project pins moto; "
                                "see lab_helpers/local/moto/.") from e


def aws_response(service: str, operation: str, result: object) -> tuple[int, dict[str, str], bytes]:
    """An answer to `operation` in its service's wire format (moto's model-driven serializer), from a
    result shaped like the operation's output (dicts with AWS's keys, or moto's own model objects)."""
    from moto.core import serialize
    from moto.core.utils import get_service_model

    with assumption("moto.core.serialize.get_serializer_class(service, protocol)(operation_model, value_picker)"):
        model = get_service_model(service)
        serializer = serialize.get_serializer_class(service, model.protocol)
        answer = serializer(model.operation_model(operation),
                            value_picker=serialize.XFormedAttributePicker()).serialize(result)
        body = answer["body"]
        return int(answer["status_code"]), dict(answer["headers"]), body if isinstance(body, bytes) else body.encode()


def wsgi_app() -> DomainDispatcherApplication:
    """moto's server application: every service, dispatched by the request's signing scope or host."""
    return DomainDispatcherApplication(create_backend_app)


def warm_up(services: tuple[str, ...], region: str) -> None:
    """Build moto's backends of these services now (the first call of each otherwise takes ~1 s)."""
    from moto.backends import get_backend

    for service in services:
        with assumption(f"get_backend({service!r})[account][region] builds the {service} backend"):
            backends = get_backend(service)[ACCOUNT]  # type: ignore[call-overload]  # moto types only literal names
            backends["global" if service == "iam" else region]



"""Requests read back into their operation and parameters by moto's model-driven router and parsers (for the
strict checks).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .contract import assumption


@dataclass(frozen=True)
class ParsedRequest:
    """An incoming call as its service's model reads it."""
    operation: Any  # botocore's OperationModel (moto's subclass)
    protocol: str  # "query", "ec2", "json", "rest-json"
    params: dict[str, Any]


def parse_request(service: str, method: str, path: str, query: str, headers: dict[str, str],
                  body: bytes) -> ParsedRequest | None:
    """The operation and parameters of a request to `service` (a botocore service name), read back from the
    wire by moto's model-driven router and parsers; None when no operation of the service matches or the
    request cannot be read (moto then answers it as it does)."""
    from urllib.parse import quote as _quote

    from moto.core.parse import PROTOCOL_PARSERS
    from moto.core.request import Request as MotoRequest
    from moto.core.request import determine_request_protocol
    from moto.core.routing import get_service_router
    from moto.core.utils import get_service_model
    from werkzeug.exceptions import HTTPException
    from werkzeug.test import EnvironBuilder

    raw_path = _quote(path, safe="/~!$&'()*+,;=:@")
    environ = EnvironBuilder(path=raw_path, method=method, query_string=query, headers=list(headers.items()),
                             data=body).get_environ()
    environ["RAW_URI"] = environ["REQUEST_URI"] = raw_path + (f"?{query}" if query else "")
    with assumption("moto.core: get_service_router(service).match(Request) -> (OperationModel, uri params); "
                    "PROTOCOL_PARSERS[protocol](operation_model).parse(request_dict)"):
        request = MotoRequest(environ)
        try:
            operation, uri_params = get_service_router(service).match(request)
        except (HTTPException, NotImplementedError):
            return None
        protocol = determine_request_protocol(get_service_model(service), request.content_type)
        parser = PROTOCOL_PARSERS[protocol](operation, map_type=dict)
        try:
            params = parser.parse({"method": request.method, "values": request.values, "headers": request.headers,
                                   "body": request.get_data(), "url_path": request.path,
                                   "url_params": uri_params})
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            return None
    return ParsedRequest(operation, protocol, params)



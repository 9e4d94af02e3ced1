"""A refusal in the wire format of the service's protocol, as AWS sends it (botocore parses each of these):
- query (IAM, RDS, STS): `<ErrorResponse><Error><Type>Sender</Type><Code>..</Code><Message>..</Message></Error>`
  with the service's XML namespace;
- ec2: `<Response><Errors><Error><Code>..</Code><Message>..</Message></Error></Errors><RequestID>..`;
- json (Secrets Manager, CloudWatch Logs, Service Quotas): `{"__type": code, "message": ..}`;
- rest-json (Lambda, API Gateway): the code in the `x-amzn-ErrorType` header, `{"message": ..}` in the body
  (Lambda adds `"Type": "User"`).
"""
from __future__ import annotations

import json
import uuid
from typing import Any
from xml.sax.saxutils import escape

from .refusal import Refusal

Response = tuple[int, dict[str, str], bytes]


def answer(service: str, protocol: str, metadata: dict[str, Any], refusal: Refusal) -> Response:
    """`metadata`: the service model's metadata (its XML namespace, its JSON version)."""
    request_id = str(uuid.uuid4())
    code, message = escape(refusal.code), escape(refusal.message)
    if protocol == "query":
        namespace = metadata.get("xmlNamespace", "")
        body = (f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type><Code>{code}</Code>'
                f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>")
        return refusal.status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body.encode()
    if protocol == "ec2":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
                f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>")
        return refusal.status, {"Content-Type": "text/xml;charset=UTF-8"}, body.encode()
    headers = {"x-amzn-RequestId": request_id, "x-amzn-ErrorType": refusal.code}
    if protocol == "json":
        headers["Content-Type"] = f"application/x-amz-json-{metadata.get('jsonVersion', '1.1')}"
        payload = {"__type": refusal.code, "message": refusal.message}
    else:
        headers["Content-Type"] = "application/json"
        payload = {"Type": "User", "message": refusal.message} if service == "lambda" else {"message": refusal.message}
    return refusal.status, headers, json.dumps(payload).encode()

"""EC2's DryRun: a call with DryRun=true is checked, never carried out, and answered 412 DryRunOperation.

moto ignores DryRun for some calls (CreateVpc with DryRun=true creates a VPC), so the local cloud answers
it here, before moto sees the call: the learner's identity may do everything on the local cloud, so every
dry run "would have succeeded" (AWS's answer when the caller is allowed).
"""
from __future__ import annotations

import uuid

from ..gateway import Request, Response

MESSAGE = "Request would have succeeded, but DryRun flag is set."


class DryRun:
    """A guard of the endpoint (see gateway.Guard)."""

    def check(self, request: Request) -> Response | None:
        if request.service != "ec2" or (request.form.get("DryRun") or [""])[0].lower() != "true":
            return None
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>DryRunOperation</Code>'
                f"<Message>{MESSAGE}</Message></Error></Errors><RequestID>{uuid.uuid4()}</RequestID></Response>")
        return 412, {"Content-Type": "text/xml;charset=UTF-8"}, body.encode()

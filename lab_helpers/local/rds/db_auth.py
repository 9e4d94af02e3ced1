"""IAM's half of an RDS IAM database login: the signature and the `rds-db:connect` permission.

A proxy process (proxy/iam_auth.py) checks what a token says; then it posts the token and the dbuser
resource here, to the one place that knows the credentials the local cloud issued:
- a Lambda function's role session (each execution environment's access key, secret key and session
  token, `vpc/function_access.py`): the signer is the role, and its policies (moto's evaluator, the one
  Secrets Manager calls from functions are checked with) must allow `rds-db:connect` on the resource;
- an RDS Proxy's session of its own role (`proxy_role.py`), which signs its tokens for the database with
  end-to-end IAM authentication: the signer is the proxy's role, checked the same way;
- the learner's keys (`local.LEARNER_ACCESS_KEY`): the account's administrator, allowed everything.
Anything else was never issued here and is refused, as AWS refuses a token signed with unknown keys.
The signature is computed again with botocore's SigV4 query signer from the token's own date and
parameters, and compared in constant time.
"""
from __future__ import annotations

import hmac
import json
import logging
from urllib.parse import parse_qsl, urlsplit

from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .. import moto
from ..client import LEARNER_ACCESS_KEY, LEARNER_SECRET_KEY
from ..gateway import Request, Response
from ..vpc.function_access import FunctionAccess
from .proxy_role import ProxyRoleSessions

log = logging.getLogger(__name__)
VERIFY_PATH = "/_lab/rds-db-connect"  # where a proxy process asks (proxy settings' iam_verifier)
ACTION = "rds-db:connect"


def signature(token: str, secret_key: str, access_key: str, session_token: str | None) -> str:
    """The SigV4 signature a token with these parameters and date gets from these credentials."""
    parts = urlsplit("https://" + token)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    _key, _date, region, service, _ = query["X-Amz-Credential"].split("/")
    auth = SigV4QueryAuth(Credentials(access_key, secret_key, session_token), service, region,
                          expires=int(query["X-Amz-Expires"]))
    request = AWSRequest(method="GET", url=f"https://{parts.netloc}/",
                         data={"Action": query["Action"], "DBUser": query["DBUser"]})
    request.context["timestamp"] = query["X-Amz-Date"]  # the token's date, not now's
    auth._modify_request_before_signing(request)  # type: ignore[attr-defined]  # private in botocore, not in its stubs; the X-Amz-* query parameters, as generate_db_auth_token adds
    return auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)


class DbAuthService:
    """The gateway's provider of VERIFY_PATH (only proxies ask it; it changes nothing)."""

    component = "rds-db-auth"

    def __init__(self, access: FunctionAccess, proxy_roles: ProxyRoleSessions | None = None):
        self.access = access
        self.proxy_roles = proxy_roles

    def route(self, request: Request) -> Response | None:
        if request.path != VERIFY_PATH or request.method != "POST":
            return None
        try:
            asked = json.loads(request.body)
            allowed, reason = self.verify(str(asked["token"]), str(asked["resource"]))
        except (ValueError, KeyError, TypeError) as e:
            allowed, reason = False, f"the token cannot be read ({type(e).__name__}: {e})"
        return 200, {"Content-Type": "application/json"}, json.dumps({"allowed": allowed, "reason": reason}).encode()

    def after(self, request: Request) -> None:
        """Nothing to follow."""

    def verify(self, token: str, resource: str) -> tuple[bool, str]:
        """(allowed, why): issued credentials, the right signature, then `rds-db:connect` on `resource`."""
        query = dict(parse_qsl(urlsplit("https://" + token).query, keep_blank_values=True))
        access_key = query["X-Amz-Credential"].split("/")[0]
        session_token = query.get("X-Amz-Security-Token")
        role_arn = None
        if access_key == LEARNER_ACCESS_KEY and session_token is None:
            secret_key = LEARNER_SECRET_KEY
        elif (issued := self.access.issued(access_key)) is not None:
            caller, secret_key, expected_token = issued
            if session_token != expected_token:
                return False, "the security token included in the token is invalid"
            role_arn = caller.role_arn
        elif self.proxy_roles is not None and (session := self.proxy_roles.issued(access_key)) is not None:
            role_arn, secret_key, expected_token = session
            if session_token != expected_token:
                return False, "the security token included in the token is invalid"
        else:
            return False, f"the access key {access_key} was never issued by this cloud"
        expected = signature(token, secret_key, access_key, session_token)
        if not hmac.compare_digest(expected, query.get("X-Amz-Signature", "")):
            return False, "the signature does not match the credentials' (signed with another secret key)"
        if role_arn is None:
            return True, "signed with the learner's keys (the account's administrator)"
        policies = moto.iam.role_policies(role_arn)
        if policies is None or not moto.iam.policies_allow(policies, ACTION, resource):
            return False, f"no identity-based policy of {role_arn} allows {ACTION} on {resource}"
        return True, f"{role_arn} may {ACTION} on {resource}"

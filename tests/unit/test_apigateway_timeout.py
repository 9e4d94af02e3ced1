"""API Gateway's integration timeout (29 s for a REST API): past it the caller gets 504 "Endpoint request timed
out" at once, while the function's invocation goes on, as on AWS. Tested with a short timeout on the provider
and a Lambda data plane that takes its time."""
from __future__ import annotations

import json
import threading
import time

from lab_helpers.local.apigateway.provider import INTEGRATION_TIMEOUT_S, ApiGatewayProvider
from lab_helpers.local.awslambda.function import InvokeResult
from lab_helpers.local.moto.apigateway import Route

ROUTE = Route(path="/", method="GET", integration_type="AWS",
              uri="arn:aws:apigateway:ap-northeast-2:lambda:path/2015-03-31/functions/"
                  "arn:aws:lambda:ap-northeast-2:123456789012:function:slow/invocations",
              responses=(("200", None),))


class SlowLambda:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.finished = threading.Event()

    def invoke(self, region: str, fn_arn: str, payload: bytes) -> InvokeResult:
        time.sleep(self.seconds)
        self.finished.set()
        return InvokeResult(payload=b'{"statusCode": 200}', function_error=None, log_tail="", request_id="r",
                            duration_ms=self.seconds * 1000, billed_duration_ms=1, max_memory_used_mb=1,
                            init_duration_ms=None, environment_id="e")


def test_the_rest_api_integration_timeout_is_api_gateway_s():
    assert INTEGRATION_TIMEOUT_S == 29.0


def test_a_function_past_the_integration_timeout_gives_504_and_keeps_running():
    slow = SlowLambda(0.6)
    provider = ApiGatewayProvider(slow, integration_timeout=0.1)
    status, headers, body = provider._aws("ap-northeast-2", "arn:aws:lambda:ap-northeast-2:123456789012:function:slow",
                                          ROUTE, b"{}")
    assert not slow.finished.is_set()  # answered before the function's end, whatever the machine's pace
    assert status == 504 and json.loads(body) == {"message": "Endpoint request timed out"}
    assert headers["Content-Type"] == "application/json"
    assert slow.finished.wait(2)  # the invocation itself was not cut short


def test_a_function_within_the_timeout_answers_as_usual():
    provider = ApiGatewayProvider(SlowLambda(0.0), integration_timeout=1.0)
    status, _, body = provider._aws("ap-northeast-2", "arn:aws:lambda:ap-northeast-2:123456789012:function:slow",
                                    ROUTE, b"{}")
    assert status == 200 and json.loads(body) == {"statusCode": 200}

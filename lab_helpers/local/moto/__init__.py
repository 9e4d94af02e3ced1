"""moto as the local cloud uses it: the only package that reads moto's internals or changes them.

The local cloud's control plane is moto in server mode, in the cloud's own process. Its data plane needs
what moto keeps but its API does not return (a DB instance's master password, a function's deployed zip, a
REST API's routes), and the network and IAM checks walk moto's EC2 and IAM backends. That happens here, one
module per service (awslambda, apigateway, rds, secretsmanager, ec2, iam; requests reads calls back for the
strict checks), and every other module gets plain, frozen views.

- Each assumption about moto is named where it is used (`contract.assumption`): when a moto upgrade breaks
  one, the call raises `MotoContractError` naming it, and `tests/unit/test_moto_contract.py` fails first.
- Changes to moto's *code* are registered patches (`patches.py`): "lambda function answers", "rds target
  health", "rds init query", "rds proxy default auth scheme", "secretsmanager current stage". The cloud applies
  them all once when it starts (`patches.apply_all`); tests undo them the same way (`patches.undo_all`).
- Writes to moto's *state* (marked WRITES MOTO'S STATE) are what RDS and Secrets Manager would have done
  themselves: an instance's status while its engine restarts, its own resource id, proxy targets' endpoints,
  ModifyDBProxy, InitQuery, what RotateSecret stores.
"""
from . import apigateway, awslambda, ec2, iam, patches, rds, requests, secretsmanager
from .contract import (
           ACCOUNT,
           FunctionNotFound,
           MotoContractError,
           RequestHandler,
           assumption,
           aws_response,
           warm_up,
           wsgi_app,
)

__all__ = ["ACCOUNT", "FunctionNotFound", "MotoContractError", "RequestHandler", "apigateway", "assumption",
           "aws_response", "awslambda", "ec2", "iam", "patches", "rds", "requests", "secretsmanager", "warm_up",
           "wsgi_app"]

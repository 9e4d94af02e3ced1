"""The local cloud refuses what AWS refuses: the gateway's guard that checks every call before moto sees it.

- `constraints.py`: each parameter against botocore's model of the operation (required members, types, enums,
  lengths, patterns, ranges), with the service's own error code and message;
- `policies.py`: IAM policy documents as IAM reads them (grammar, principals, identity vs trust policies);
- the services' cross-resource rules live next to each service (`rds/rules.py`, `awslambda/rules.py`,
  `vpc/rules.py`) and are handed to the guard by the cloud;
- `wire.py`: the refusal in the service's wire format (query XML, EC2 XML, JSON, REST-JSON).
"""
from .guard import Strict
from .refusal import Refusal

__all__ = ["Refusal", "Strict"]

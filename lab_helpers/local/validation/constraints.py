"""Each parameter of a call against botocore's model of the operation, as the service checks it.

botocore's own `ParamValidator` (what boto3 runs before sending) checks required members, types and minimums;
the services also check maximum lengths and values, enums and patterns. `ModelValidator` extends botocore's
validator with those, and `refusal()` words what it found as the service does:
- Coral-validated services (IAM, STS, RDS, Secrets Manager, Service Quotas, CloudWatch Logs, Lambda, API
  Gateway): "1 validation error detected: Value 'x' at 'roleName' failed to satisfy constraint: Member must have
  length less than or equal to 64" (several joined with "; "), under the service's code (ValidationError,
  ValidationException, InvalidParameterException). A missing member is "Value null at 'roleName' failed to
  satisfy constraint: Member must not be null"; a sensitive value is not repeated. API Gateway names a member
  under its operation's input ('putIntegrationInput.type').
- EC2: a missing member is MissingParameter "The request must contain the parameter VpcId"; a value outside
  the enum is InvalidParameterValue. EC2 compares enum values without case and checks nothing else here.

Nothing stricter than AWS: members boto3 fills on its own (idempotency tokens) are not required, members the
model does not know are ignored (as the services ignore them), and a pattern Python cannot read as Java does
is not applied.
"""
from __future__ import annotations

import functools
import re
from typing import Any

from botocore.model import Shape, StructureShape
from botocore.validate import ParamValidator, ValidationErrors, range_check

from .refusal import Refusal

VALIDATION_CODES = {  # the code each service answers a constraint violation with
    "iam": "ValidationError", "sts": "ValidationError", "rds": "ValidationError",
    "secretsmanager": "ValidationException", "service-quotas": "ValidationException",
    "logs": "InvalidParameterException", "lambda": "ValidationException", "apigateway": "ValidationException",
}
INPUT_NAMED = {"apigateway"}  # services that name a member under its operation's input: 'putIntegrationInput.type'
JAVA_ONLY = re.compile(r"\\[pPQEGZ]|\(\?<[^=!]|\+\+|\*\+|\?\+|&&")  # constructs `re` reads otherwise or not at all


@functools.lru_cache(maxsize=2048)
def _pattern(pattern: str) -> re.Pattern[str] | None:
    if JAVA_ONLY.search(pattern):
        return None
    try:
        return re.compile(pattern)
    except re.error:
        return None


class ModelValidator(ParamValidator):
    """botocore's validator plus what the services check beyond it: maximum length or value, enum, pattern.

    It extends ParamValidator's private _validate_<type> methods, which botocore-stubs do not declare: each
    call of the original carries an ignore for that."""

    VALIDATED_METADATA_ATTRS = ParamValidator.VALIDATED_METADATA_ATTRS | {"max", "enum", "pattern"}

    def __init__(self, case_insensitive_enums: bool = False) -> None:
        self.case_insensitive_enums = case_insensitive_enums

    def _validate_structure(self, params: Any, shape: StructureShape, errors: ValidationErrors, name: str) -> None:
        if isinstance(params, dict):
            params = {k: v for k, v in params.items() if v is not None and k in shape.members}
            tokens = {m for m in shape.required_members if shape.members[m].metadata.get("idempotencyToken")}
            if tokens:
                errors = _FilledBySdk(errors, name, tokens)
        super()._validate_structure(params, shape, errors, name)  # type: ignore[misc]  # not in botocore-stubs

    def _validate_string(self, param: Any, shape: Shape, errors: ValidationErrors, name: str) -> None:
        super()._validate_string(param, shape, _Valued(errors, name, param), name)  # type: ignore[misc]  # not in botocore-stubs
        if not isinstance(param, str):
            return
        if "max" in shape.metadata and len(param) > shape.metadata["max"]:
            errors.report(name, "too long", param=param, max_allowed=shape.metadata["max"])
        enum = shape.metadata.get("enum")
        if enum and not self._in_enum(param, enum):
            errors.report(name, "not in enum", param=param, enum=enum)
        pattern = shape.metadata.get("pattern")
        compiled = _pattern(pattern) if pattern else None
        if compiled is not None and compiled.fullmatch(param) is None:
            errors.report(name, "pattern", param=param, pattern=pattern)

    def _in_enum(self, value: str, enum: list[str]) -> bool:
        if self.case_insensitive_enums:
            return value.lower() in {e.lower() for e in enum}
        return value in enum

    def _validate_list(self, param: Any, shape: Shape, errors: ValidationErrors, name: str) -> None:
        super()._validate_list(param, shape, _Valued(errors, name, param), name)  # type: ignore[misc]  # not in botocore-stubs
        if isinstance(param, (list, tuple)) and "max" in shape.metadata and len(param) > shape.metadata["max"]:
            errors.report(name, "too long", param=param, max_allowed=shape.metadata["max"])

    def _validate_map(self, param: Any, shape: Shape, errors: ValidationErrors, name: str) -> None:
        super()._validate_map(param, shape, errors, name)  # type: ignore[misc]  # not in botocore-stubs
        if isinstance(param, dict):
            range_check(name, len(param), shape, "invalid length", _Valued(errors, name, param))
            if "max" in shape.metadata and len(param) > shape.metadata["max"]:
                errors.report(name, "too long", param=param, max_allowed=shape.metadata["max"])

    def _validate_number(self, param: Any, shape: Shape, errors: ValidationErrors, name: str) -> None:
        if isinstance(param, (int, float)) and not isinstance(param, bool) and "max" in shape.metadata \
                and param > shape.metadata["max"]:
            errors.report(name, "too large", param=param, max_allowed=shape.metadata["max"])

    def _validate_integer(self, param: Any, shape: Shape, errors: ValidationErrors, name: str) -> None:
        super()._validate_integer(param, shape, errors, name)  # type: ignore[misc]  # not in botocore-stubs
        self._validate_number(param, shape, errors, name)

    def _validate_long(self, param: Any, shape: Shape, errors: ValidationErrors, name: str) -> None:
        super()._validate_long(param, shape, errors, name)  # type: ignore[misc]  # not in botocore-stubs
        self._validate_number(param, shape, errors, name)

    def _validate_double(self, param: Any, shape: Shape, errors: ValidationErrors, name: str) -> None:
        super()._validate_double(param, shape, errors, name)  # type: ignore[misc]  # not in botocore-stubs
        self._validate_number(param, shape, errors, name)

    _validate_float = _validate_double

    def _validate_timestamp(self, param: Any, shape: Shape, errors: ValidationErrors, name: str) -> None:
        if isinstance(param, (int, float)) and not isinstance(param, bool):
            return  # epoch seconds, as the JSON protocols send timestamps
        super()._validate_timestamp(param, shape, errors, name)  # type: ignore[misc]  # not in botocore-stubs


class _Valued(ValidationErrors):
    """Passes reports on; botocore reports a length with the length as the value: this puts the value back."""

    def __init__(self, errors: ValidationErrors, name: str, value: Any):
        self.errors, self.name, self.value = errors, name, value

    def report(self, name: str, reason: str, **details: Any) -> None:
        if reason == "invalid length" and name == self.name:
            details["param"] = self.value
        self.errors.report(name, reason, **details)


class _FilledBySdk(ValidationErrors):
    """Passes reports on, except a missing idempotency token of the structure at `name` (the SDKs fill it)."""

    def __init__(self, errors: ValidationErrors, name: str, tokens: set[str]):
        self.errors, self.name, self.tokens = errors, name, tokens

    def report(self, name: str, reason: str, **details: Any) -> None:
        token = reason == "missing required field" and details.get("required_name") in self.tokens
        if not (token and name == self.name):
            self.errors.report(name, reason, **details)


def check(service: str, protocol: str, operation: Any, params: dict[str, Any]) -> None:
    """Refusal when `params` break the operation's model, in the service's words; None when they keep it."""
    shape = operation.input_shape
    if shape is None:
        return
    validator = ModelValidator(case_insensitive_enums=protocol == "ec2")
    errors = [e for e in validator.validate(params, shape)._errors if e[0] != "unknown field"]
    if not errors:
        return
    if protocol == "ec2":
        raise _ec2_refusal(errors, shape)
    typed = [e for e in errors if e[0] in ("invalid type", "invalid type for document")]
    if typed:
        if protocol == "json":  # a value of the wrong JSON type: the body cannot be read into the operation's input
            raise Refusal("SerializationException", f"Unexpected value type at '{_aws_path(typed[0][1])}'")
        errors = [e for e in errors if e not in typed]  # query and REST values arrive as text: read, not refused
        if not errors:
            return
    prefix = f"{operation.name[:1].lower()}{operation.name[1:]}Input." if service in INPUT_NAMED else ""
    messages = [_message(reason, name, details, shape, prefix) for reason, name, details in errors]
    count = len(messages)
    raise Refusal(VALIDATION_CODES.get(service, "ValidationException"),
                  f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(messages))


def _message(reason: str, name: str, details: dict[str, Any], root: Any, prefix: str = "") -> str:
    if reason == "missing required field":
        path = prefix + _aws_path(f"{name}.{details['required_name']}")
        return f"Value null at '{path}' failed to satisfy constraint: Member must not be null"
    path = prefix + _aws_path(name)
    constraint = {
        "invalid length": lambda: f"Member must have length greater than or equal to {details.get('min_allowed')}",
        "too long": lambda: f"Member must have length less than or equal to {details.get('max_allowed')}",
        "invalid range": lambda: f"Member must have value greater than or equal to {details.get('min_allowed')}",
        "too large": lambda: f"Member must have value less than or equal to {details.get('max_allowed')}",
        "not in enum": lambda: f"Member must satisfy enum value set: [{', '.join(details.get('enum', []))}]",
        "pattern": lambda: f"Member must satisfy regular expression pattern: {details.get('pattern')}",
    }.get(reason, lambda: reason)()
    value = "" if _sensitive(root, name) else f" '{_render(details.get('param'))}'"
    return f"Value{value} at '{path}' failed to satisfy constraint: {constraint}"


def _render(value: Any) -> str:
    """A value as the services' (Java) messages print it."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_render(v)}" for k, v in value.items()) + "}"
    return str(value)


def _segments(name: str) -> list[tuple[str, int | None]]:
    """botocore's parameter name ('.Tags[0].Key') as (member, list index) pairs."""
    out: list[tuple[str, int | None]] = []
    for part in name.strip(".").split("."):
        match = re.fullmatch(r"(.*?)((?:\[\d+\])*)", part.split(" (key: ")[0])
        assert match is not None  # (.*?) matches any text
        member, indexes = match.group(1), [int(i) for i in re.findall(r"\[(\d+)\]", match.group(2))]
        out.append((member, indexes[0] if indexes else None))
    return out


def _aws_path(name: str) -> str:
    """botocore's name as the services print it: lowerCamel members, '.<n>.member' for list items (1-based)."""
    parts = []
    for member, index in _segments(name):
        parts.append(member[:1].lower() + member[1:])
        if index is not None:
            parts.append(f"{index + 1}.member")
    return ".".join(parts)


def _sensitive(root: Any, name: str) -> bool:
    shape = root
    for member, index in _segments(name):
        members = getattr(shape, "members", None)
        if not members or member not in members:
            return False
        shape = members[member]
        if index is not None and getattr(shape, "member", None) is not None:
            shape = shape.member
        if shape.metadata.get("sensitive"):
            return True
    return False


def _ec2_refusal(errors: list[tuple[str, str, dict[str, Any]]], root: Any) -> Refusal:
    reason, name, details = errors[0]
    if reason == "missing required field":
        parent = root
        for member, _ in _segments(name) if name else []:
            parent = parent.members[member]
            parent = getattr(parent, "member", parent)
        member = parent.members[details["required_name"]]
        query_name = member.serialization.get("queryName") or details["required_name"]
        return Refusal("MissingParameter", f"The request must contain the parameter {query_name}")
    path = _aws_path(name)
    return Refusal("InvalidParameterValue", f"Value ({_render(details.get('param'))}) for parameter {path} is invalid.")

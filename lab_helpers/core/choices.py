"""The lab's three choices, made once in 00_prerequisites and followed by every later notebook.

- target: "local" (the local cloud on this machine) or "aws" (the learner's account);
- region: where everything is created;
- learner: a short name that prefixes every resource name, so that several learners can share one
  account (empty: the module's names exactly);
- what the learner's organisation requires on new resources (AWS accounts with SCPs often do): extra
  tags on every resource, and a permissions boundary on every IAM role.

00 (or `make lab TARGET=… REGION=… LEARNER=…`) remembers them in `choices.json` in the lab's state
folder. A later notebook whose parameters are left as None follows them; one given other values stops
before touching anything, with a message that says what the lab uses and how to change it.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import boto3

from . import paths
from .config import DEFAULT_REGION, DEFAULT_TARGET, TARGETS

LEARNER = re.compile(r"^[a-z][a-z0-9]{0,11}$")  # fits in every resource name the lab makes (RDS: a letter first)
# A tag as every service of the lab accepts it (EC2's and IAM's rules, the strictest; 50 tags at most in all)
TAG_KEY = re.compile(r"^[\w .:/=+\-@]{1,128}$")
TAG_VALUE = re.compile(r"^[\w .:/=+\-@]{0,256}$")
MAX_EXTRA_TAGS = 40  # the lab's own (lab:project, lab:module, Name) and these stay under every service's 50
BOUNDARY = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/[\w+=,.@/-]{1,512}$")
RESERVED_TAG_KEYS = ("lab:project", "lab:module", "Name")
FILE_NAME = "choices.json"


class ChoiceError(ValueError):
    """A choice that cannot be used, or one that differs from the lab's: the message says what to do."""


@dataclass(frozen=True)
class Choices:
    target: str
    region: str
    learner: str = ""
    costs_confirmed: bool = False  # target "aws": the learner accepted the cost table in 00
    tags: tuple[tuple[str, str], ...] = ()  # extra tags on every resource, as (key, value)
    permissions_boundary: str = ""  # an IAM policy ARN: every role's permissions boundary

    def lab_settings(self) -> dict[str, Any]:
        """What `Lab.connect` takes from the choices besides target and region."""
        return {"learner": self.learner, "extra_tags": dict(self.tags),
                "permissions_boundary": self.permissions_boundary}


def check_target(target: str) -> str:
    if target not in TARGETS:
        raise ChoiceError(f"target 은 'local'(이 컴퓨터의 로컬 클라우드) 또는 'aws'(내 AWS 계정) 중 하나여야 합니다. "
                          f"받은 값: {target!r}")
    return target


def known_regions() -> set[str]:
    """Every region of every partition where RDS is offered (botocore's own list; no call to AWS)."""
    session = boto3.Session()
    return {region for partition in session.get_available_partitions()
            for region in session.get_available_regions("rds", partition_name=partition)}


def check_region(region: str) -> str:
    if region not in known_regions():
        raise ChoiceError(f"region {region!r} 은 RDS 를 제공하는 AWS 리전이 아닙니다. 예: 'ap-northeast-2'(서울), "
                          "'us-east-1'(버지니아 북부).")
    return region


def check_learner(learner: str) -> str:
    if learner and not LEARNER.match(learner):
        raise ChoiceError(f"learner {learner!r} 는 쓸 수 없습니다: 영문 소문자로 시작하는 영문 소문자와 숫자 "
                          "1–12자여야 합니다 (예: 'kim01'). 모든 리소스 이름 앞에 붙습니다. 혼자 실습한다면 "
                          "빈 문자열 \"\" 로 두세요.")
    return learner


def parse_tags(tags: str | dict[str, Any] | None) -> tuple[tuple[str, str], ...]:
    """00's `tags`: "Key=Value,Key2=Value2" (or a dict), checked as AWS checks tags; () for none."""
    if not tags:
        return ()
    if isinstance(tags, dict):
        pairs = [(str(k), str(v)) for k, v in tags.items()]
    else:
        pairs = []
        for item in (part.strip() for part in str(tags).split(",")):
            key, equals, value = item.partition("=")
            if not item or not equals:
                raise ChoiceError(f"tags 의 {item!r} 를 읽을 수 없습니다: 'Key=Value' 를 쉼표로 이어 주세요 "
                                  "(예: \"CostCenter=1234,Owner=kim\").")
            pairs.append((key.strip(), value.strip()))
    for key, value in pairs:
        if key in RESERVED_TAG_KEYS or key.lower().startswith("aws:"):
            raise ChoiceError(f"태그 키 {key!r} 는 쓸 수 없습니다: 실습이 직접 붙이는 키이거나 AWS 가 예약한 키입니다. "
                              "다른 키를 쓰세요.")
        if not TAG_KEY.match(key) or not TAG_VALUE.match(value):
            raise ChoiceError(f"태그 {key}={value} 는 AWS 가 받지 않습니다: 키는 1–128자, 값은 0–256자의 글자, 숫자, "
                              "공백과 _ . : / = + - @ 만 쓸 수 있습니다.")
    if len(pairs) > MAX_EXTRA_TAGS:
        raise ChoiceError(f"태그가 {len(pairs)}개입니다: 실습의 태그와 합쳐 AWS 의 한도(50개)를 넘지 않도록 "
                          f"{MAX_EXTRA_TAGS}개 이하로 주세요.")
    return tuple(dict(pairs).items())


def check_permissions_boundary(arn: str | None) -> str:
    if arn and not BOUNDARY.match(arn):
        raise ChoiceError(f"permissions_boundary {arn!r} 는 IAM 정책의 ARN 이 아닙니다: "
                          "'arn:aws:iam::123456789012:policy/이름' 모양으로 주세요 (관리자가 알려 준 정책).")
    return arn or ""


def default_region(target: str) -> str:
    """On AWS, the learner's configured region (AWS_REGION, AWS_DEFAULT_REGION, the profile's) when there is
    one; else the workshop's (Seoul)."""
    if target == "aws":
        configured: str | None = boto3.Session().region_name
        if configured:
            return configured
    return DEFAULT_REGION


def file(state_dir: Path | None = None) -> Path:
    return (state_dir or paths.state_dir()) / FILE_NAME


def recall(state_dir: Path | None = None) -> Choices | None:
    """The remembered choices, or None when 00_prerequisites has not run for this lab."""
    try:
        data = json.loads(file(state_dir).read_text())
        return Choices(str(data["target"]), str(data["region"]), str(data.get("learner") or ""),
                       bool(data.get("costs_confirmed")), tuple((str(k), str(v)) for k, v in data.get("tags") or ()),
                       str(data.get("permissions_boundary") or ""))
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def remember(choices: Choices, state_dir: Path | None = None) -> None:
    path = file(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(choices), ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def choose(target: str, region: str | None, learner: str | None, tags: str | dict[str, Any] | None = None,
           permissions_boundary: str | None = None) -> Choices:
    """00_prerequisites: the choices checked (region None: the default for the target); `remember` them
    once the lab may go on."""
    target = check_target(target)
    return Choices(target, check_region(region or default_region(target)), check_learner(learner or ""),
                   tags=parse_tags(tags), permissions_boundary=check_permissions_boundary(permissions_boundary))


def follow(target: str | None, region: str | None, learner: str | None) -> Choices:
    """Notebooks after 00: the lab's choices; a parameter given (not None) must agree with them."""
    if target is not None:
        check_target(target)
    if region is not None:
        check_region(region)
    if learner is not None:
        check_learner(learner)
    lab = recall()
    if lab is None:  # 00 has not run for this state folder: the defaults (on "local", the cloud must be up)
        target = target or DEFAULT_TARGET
        return Choices(target, region or default_region(target), learner or "")
    given = {"target": target, "region": region, "learner": learner}
    different = {k: v for k, v in given.items() if v is not None and v != getattr(lab, k)}
    if different:
        said = ", ".join(f"{k}={v!r}" for k, v in different.items())
        raise ChoiceError(
            f"이 노트북의 매개변수({said})가 이 실습의 선택과 다릅니다: 00_prerequisites 에서 target={lab.target!r}, "
            f"region={lab.region!r}, learner={lab.learner!r} 로 시작했습니다. 아무것도 바꾸지 않고 멈춥니다. "
            "매개변수를 None 으로 두면 실습의 선택을 따릅니다. 다른 대상이나 리전으로 바꾸려면 먼저 지금 실습을 "
            "99_cleanup 으로 정리한 뒤 00_prerequisites 부터 새 값으로 다시 실행하세요.")
    return lab

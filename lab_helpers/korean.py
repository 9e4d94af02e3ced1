"""The lesson's Korean term sheet for what the notebooks print: column names and values.

The helpers return plain data with English snake_case keys (`dns_hostnames`, `rotation_enabled`) and
Python values (True/False); `notebook.table` shows them to the learner through this sheet. A column
is named as AWS's Korean console names the field, with the English name the module uses in
parentheses where the two differ (for example "DNS 호스트 이름 (DNS hostnames)"); AWS API names and
MySQL variables that a learner types or searches for stay as they are.

The same words as the README's term sheet: 보안 암호 (secret), DB 자격 증명 (credentials, "크리덴셜" in
the module), 실행 환경 (execution environment), 핸들러 (handler), 콜드/웜 스타트, 원문 코드 (the code
as the module prints it).
"""
from __future__ import annotations

from typing import Any

YES = "예"
NO = "아니오"
NONE = "없음"

# key -> what the learner reads as the column's (or the row's) name
COLUMNS: dict[str, str] = {
    # names and states
    "name": "이름",
    "state": "상태",
    "status": "상태 코드",
    "description": "설명",
    "type": "유형",
    "version": "버전 ID",
    "stages": "스테이징 레이블",
    "changed": "이번에 바꿈",
    "resource": "리소스",
    "result": "결과",
    # VPC
    "vpc": "VPC",
    "cidr": "IPv4 CIDR",
    "dns_support": "DNS 확인 (DNS resolution)",
    "dns_hostnames": "DNS 호스트 이름 (DNS hostnames)",
    "subnet": "서브넷",
    "subnets": "서브넷",
    "az": "가용 영역",
    "public": "퍼블릭 IPv4 자동 할당",
    "route_to_internet": "인터넷 경로 (0.0.0.0/0)",
    "inbound": "인바운드 규칙",
    "security_groups": "보안 그룹",
    "admits_mysql_from_lambda_sg": "lambda-sg 의 MySQL(3306) 허용",
    "service": "서비스 이름 (Service Name)",
    "private_dns": "DNS 이름 활성화 (Enable DNS name)",
    # RDS and RDS Proxy
    "engine": "엔진",
    "engine_version": "엔진 버전",
    "instance_class": "DB 인스턴스 클래스",
    "engine_family": "엔진 패밀리 (Engine compatibility)",
    "require_tls": "전송 계층 보안 필요 (Require Transport Layer Security)",
    "auth": "클라이언트 인증",
    "secret": "보안 암호",
    "auth_scheme": "인증 방식 (AuthScheme)",
    "iam_auth": "IAM 인증 (IAMAuth)",
    "attempt": "시도",
    "db": "데이터베이스",
    "endpoint": "프록시 엔드포인트",
    "target_role": "대상 역할 (Target role)",
    "host": "엔드포인트",
    "max_connections": "DB 의 max_connections",
    "parameter_group": "DB 파라미터 그룹",
    "max_connections_percent": "프록시의 MaxConnectionsPercent",
    "borrow_timeout_s": "프록시의 ConnectionBorrowTimeout (초)",
    # IAM
    "role": "역할",
    "policy": "정책",
    "actions": "작업 (Actions)",
    "resources": "리소스 (Resource)",
    "trusted_service": "신뢰할 수 있는 엔터티 (Trusted entities)",
    "managed_policies": "AWS 관리형 정책",
    "inline_policies": "인라인 정책",
    # Secrets Manager
    "rotation_enabled": "자동 교체 (rotation)",
    "reads_secret": "보안 암호를 읽는 방식",
    # Lambda and API Gateway
    "function": "함수",
    "runtime": "런타임",
    "memory_mb": "메모리 (MB)",
    "timeout_s": "제한 시간 (초)",
    "last_update_status": "마지막 업데이트 상태",
    "environment": "환경 변수",
    "endpoint_type": "API 엔드포인트 유형",
    "method": "메서드",
    "integration_type": "통합 유형",
    "stage": "스테이지",
    # 05's checks
    "step": "노트북",
    "check": "점검 항목",
    "ok": "통과",
}


def column(key: str) -> str:
    """The Korean name of a column (or of a row in a key/value table); a key not in the sheet as it is."""
    return COLUMNS.get(key, key)


def value(v: Any) -> Any:
    """A value as the learner reads it: True/False as 예/아니오, nothing (an empty list or dict) as 없음."""
    if isinstance(v, bool):
        return YES if v else NO
    if isinstance(v, (list, tuple, dict)) and not v:
        return NONE
    return v

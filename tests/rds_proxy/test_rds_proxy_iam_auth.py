"""IAM database authentication at the proxy itself, on the test bench: a user whose secret has IAMAuth
REQUIRED, a real TLS login with a token, and the proxy's clock moved on (a fake clock) past 15 minutes."""
from __future__ import annotations

import dataclasses

import boto3
import pymysql
import pytest

from lab_helpers.local.rds.proxy import iam_auth
from lab_helpers.local.rds.proxy.certificates import CertificateAuthority
from tests.rds_proxy.conftest import PASSWORD, USER

ENDPOINT = "lab-proxy.proxy-abcdefghijkl.ap-northeast-2.rds.amazonaws.com"
REGION = "ap-northeast-2"


@pytest.fixture
def iam_required(lab, tmp_path):
    """The bench's proxy with TLS and the user's secret at IAMAuth REQUIRED (no verifier: a token that passes
    the proxy's own checks is refused as unverifiable); the settings put back afterwards."""
    ca = CertificateAuthority(tmp_path / "ca").ensure()
    chain, key = ca.issue("lab-proxy", [ENDPOINT], tmp_path / "tls")
    before = dataclasses.replace(lab.settings)
    lab.settings.tls = (str(chain), str(key))
    lab.settings.iam_users, lab.settings.endpoint, lab.settings.region = (USER,), ENDPOINT, REGION
    lab.settings.account, lab.settings.resource_id = "123456789012", "prx-0123456789abcdef0"
    yield ca
    for field in dataclasses.fields(before):
        setattr(lab.settings, field.name, getattr(before, field.name))


def token() -> str:
    session = boto3.Session(aws_access_key_id="lab", aws_secret_access_key="lab", region_name=REGION)
    return session.client("rds").generate_db_auth_token(ENDPOINT, 3306, USER)


def login(lab, password: str, tls: bool = True):
    options = {"ssl": {"ca": None}, "ssl_verify_cert": False} if tls else {"ssl_disabled": True}
    return pymysql.connect(host="127.0.0.1", port=lab.proxy.port, user=USER, password=password, connect_timeout=5,
                           **options)


def refused(lab, password: str, **kwargs) -> tuple:
    with pytest.raises(pymysql.err.OperationalError) as raised:
        login(lab, password, **kwargs).close()
    return raised.value.args


def test_the_password_of_an_iam_user_is_refused(iam_required, lab):
    """Proxy level: the secret's password and a string that is no URL are refused, not a lost connection;
    notebook 08's attempts (tests/integration/test_rds_iam_auth.py) cover IAMAuth REQUIRED set through the RDS API."""
    assert refused(lab, PASSWORD)[0] == 1045
    assert refused(lab, "a rotated [password]:x")[0] == 1045  # no URL at all: refused, not a lost connection


def test_a_token_without_tls_is_refused_with_tls_required(iam_required, lab):
    """Proxy level: this proxy does not require TLS, so 3159 can only come from the token; on the cloud the lab's
    proxy requires TLS of every client, where notebook 08's "no_tls" attempt cannot tell the two rules apart."""
    assert refused(lab, token(), tls=False) == (3159, "This RDS Proxy requires TLS connections.")


def test_a_token_past_fifteen_minutes_is_refused(iam_required, lab, monkeypatch, caplog):
    text = token()
    signed_at = iam_auth.parse(text).signed_at
    monkeypatch.setattr(iam_auth, "clock", lambda: signed_at + 15 * 60 + 1)
    with caplog.at_level("INFO", logger=iam_auth.__name__):
        code, message = refused(lab, text)
    assert code == 1045 and message.startswith(f"Access denied for user '{USER}'@")
    assert "expired 1 s ago" in caplog.text
    monkeypatch.setattr(iam_auth, "clock", lambda: signed_at + 15 * 60 - 1)
    with caplog.at_level("INFO", logger=iam_auth.__name__):
        assert refused(lab, text)[0] == 1045  # in time, but nobody here can check the signature
    assert "no way to check signatures" in caplog.text


def test_other_users_still_log_in_with_their_password(iam_required, lab):
    lab.settings.iam_users = ("someone_else",)
    conn = login(lab, PASSWORD)
    conn.close()

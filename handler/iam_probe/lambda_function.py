"""Logins a learner would try against IAM database authentication through RDS Proxy, one per invocation.

Deployed next to the lab's function (same role, subnets and security group), invoked with
{"try": <one of TRIES>}; answers {"try": ..., "connected": true|false, "error": "<code> <message>"|null}.
  "token"       a token from generate_db_auth_token for DB_USER, over TLS: what the function does
  "password"    DB_USER's password from the secret (SECRET_NAME), over TLS: what Module 3's function does
  "expired"     a token signed 16 minutes ago with the same role (a token lasts 15 minutes)
  "other_user"  a token made for another database user (OTHER_USER), used to log in as DB_USER
  "no_tls"      a good token, without TLS
Neither a token nor the password is ever printed or returned.
"""
import datetime
import json
import os
import ssl

import boto3
import pymysql
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest

DB_HOST = os.environ.get("DB_HOST", "")
DB_USER = os.environ.get("DB_USER", "")
SECRET_NAME = os.environ.get("SECRET_NAME", "")
OTHER_USER = os.environ.get("OTHER_USER", "reader")
DB_PORT = 3306
TOKEN_LIFETIME_S = 900
TRIES = ("token", "password", "expired", "other_user", "no_tls")

session = boto3.Session()
rds_client = session.client("rds")


def token_signed_at(signed_at, user):
    """A token as generate_db_auth_token makes it, but signed at `signed_at` instead of now."""
    auth = SigV4QueryAuth(session.get_credentials().get_frozen_credentials(), "rds-db", session.region_name,
                          expires=TOKEN_LIFETIME_S)
    request = AWSRequest(method="GET", url=f"https://{DB_HOST}:{DB_PORT}/",
                         data={"Action": "connect", "DBUser": user})
    request.context["timestamp"] = signed_at.strftime("%Y%m%dT%H%M%SZ")
    auth._modify_request_before_signing(request)
    signature = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    return f"{request.url[len('https://'):]}&X-Amz-Signature={signature}"


def login(token, tls=True):
    options = {"ssl": ssl.create_default_context()} if tls else {"ssl_disabled": True}
    connection = pymysql.connect(host=DB_HOST, port=DB_PORT, user=DB_USER, password=token, connect_timeout=5,
                                 **options)
    with connection.cursor() as cursor:
        cursor.execute("select 1")
    connection.close()


def lambda_handler(event, context):
    attempt = event.get("try")
    if attempt not in TRIES:
        return {"try": attempt, "connected": False, "error": f"try must be one of {', '.join(TRIES)}"}
    if attempt == "password":
        secret = session.client("secretsmanager").get_secret_value(SecretId=SECRET_NAME)
        token = json.loads(secret["SecretString"])["password"]
    elif attempt == "expired":
        token = token_signed_at(datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=16),
                                DB_USER)
    else:
        user = OTHER_USER if attempt == "other_user" else DB_USER
        token = rds_client.generate_db_auth_token(DBHostname=DB_HOST, Port=DB_PORT, DBUsername=user)
    try:
        login(token, tls=attempt != "no_tls")
    except pymysql.err.OperationalError as e:
        return {"try": attempt, "connected": False, "error": f"{e.args[0]} {e.args[1]}"}
    return {"try": attempt, "connected": True, "error": None}

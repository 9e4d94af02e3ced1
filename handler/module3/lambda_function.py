"""Module 3's function: database credentials from AWS Secrets Manager, connection through RDS Proxy.

Configuration comes from the function's environment variables:
  SECRET_NAME  the Secrets Manager secret with the database credentials (username, password)
  DB_HOST      the RDS Proxy read/write endpoint
  DB_PORT      optional, 3306

The secret and the database connection are kept at module scope: they are created once per
execution environment (on a cold start) and reused by every warm invocation, so a warm
invocation costs one query, not a Secrets Manager call plus a new connection.
The connection uses autocommit, so RDS Proxy can hand its backend connection to another
client as soon as each statement ends. It uses TLS and verifies two things (`tls_context`):
  - the certificate chain, up to a CA the runtime trusts (Lambda's Python trusts Amazon's root
    CAs, which RDS Proxy's ACM certificates chain to), plus the PEM bundle DB_CA_BUNDLE names
    when it is set (a file in the package, e.g. RDS's regional bundle for a DB instance);
  - the host name: DB_HOST must be one of the certificate's names.
(PyMySQL's `ssl_verify_identity=True` alone would check only the chain: PyMySQL turns the host
name check on only when it is also given a CA file, hence the SSLContext.)
If the connection is gone (idle timeout, proxy or database restart) it reconnects once;
if the database refuses the password (the secret was rotated) it fetches the secret again once.
"""
import json
import os
import ssl

import boto3
import pymysql
from botocore.exceptions import BotoCoreError, ClientError

SECRET_NAME = os.environ.get("SECRET_NAME", "")
DB_HOST = os.environ.get("DB_HOST", "")
DB_PORT = int(os.environ.get("DB_PORT", "3306"))
DB_CA_BUNDLE = os.environ.get("DB_CA_BUNDLE", "")  # optional: more CAs to trust, a PEM file in the package
CONNECT_TIMEOUT_S = 5

ACCESS_DENIED = 1045
CONNECTION_LOST = {2006, 2013, 2014, 2055}  # gone away, lost during query, out of sync, lost (PyMySQL)

secrets_client = boto3.client("secretsmanager")  # once per execution environment
credentials = None  # {"username": ..., "password": ...}, cached across warm invocations
connection = None


class ConfigurationError(Exception):
    pass


def get_credentials(refresh=False):
    global credentials
    if credentials is None or refresh:
        if not SECRET_NAME:
            raise ConfigurationError("environment variable SECRET_NAME is not set")
        value = secrets_client.get_secret_value(SecretId=SECRET_NAME)
        secret = json.loads(value["SecretString"])
        credentials = {"username": secret["username"], "password": secret["password"]}
    return credentials


def tls_context():
    """TLS that verifies the certificate chain (the runtime's trusted CAs, plus DB_CA_BUNDLE) and that
    the certificate names DB_HOST."""
    context = ssl.create_default_context()  # CERT_REQUIRED, check_hostname, the default trust store
    if DB_CA_BUNDLE:
        context.load_verify_locations(cafile=DB_CA_BUNDLE)
    return context


def connect(creds):
    if not DB_HOST:
        raise ConfigurationError("environment variable DB_HOST (the RDS Proxy endpoint) is not set")
    return pymysql.connect(host=DB_HOST, port=DB_PORT, user=creds["username"], password=creds["password"],
                           connect_timeout=CONNECT_TIMEOUT_S, autocommit=True, ssl=tls_context())


def get_connection():
    global connection
    if connection is None:
        try:
            connection = connect(get_credentials())
        except pymysql.err.OperationalError as e:
            if e.args[0] != ACCESS_DENIED:
                raise
            connection = connect(get_credentials(refresh=True))  # the password may have been rotated
    return connection


def drop_connection():
    global connection
    if connection is not None:
        try:
            connection.close()
        except pymysql.Error:
            pass
    connection = None


def query_now():
    for attempt in (1, 2):
        conn = get_connection()
        try:
            with conn.cursor() as cursor:
                cursor.execute("select now()")
                return cursor.fetchone()[0]
        except (pymysql.err.OperationalError, pymysql.err.InterfaceError) as e:
            drop_connection()
            lost = isinstance(e, pymysql.err.InterfaceError) or (e.args and e.args[0] in CONNECTION_LOST)
            if attempt == 2 or not lost:
                raise


def error_result(e):
    """statusCode 500 with the error's type and message, never the password or the secret."""
    if isinstance(e, ClientError):
        error_type, message = e.response["Error"]["Code"], e.response["Error"].get("Message", "")
    else:
        error_type, message = type(e).__name__, str(e)
    if credentials and credentials.get("password"):
        message = message.replace(credentials["password"], "****")
    print(f"ERROR {error_type}: {message}")
    return {"statusCode": 500, "body": json.dumps({"errorType": error_type, "errorMessage": message})}


def lambda_handler(event, context):
    try:
        now = query_now()
    except (ConfigurationError, ClientError, BotoCoreError, pymysql.Error, KeyError, ValueError) as e:
        return error_result(e)
    return {
        'statusCode': 200,
        'body': json.dumps(now.isoformat())
    }

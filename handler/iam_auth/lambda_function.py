"""The function with IAM database authentication through RDS Proxy: no password anywhere.

Configuration comes from the function's environment variables:
  DB_HOST  the RDS Proxy read/write endpoint
  DB_USER  the database user whose secret has IAMAuth REQUIRED on the proxy
  DB_PORT  optional, 3306

Instead of a password the function signs an authentication token with its execution role
(`generate_db_auth_token`: a SigV4-presigned `connect` request, made locally, no AWS call) and logs in
with it. The role needs `rds-db:connect` on `arn:aws:rds-db:<region>:<account>:dbuser:<proxy id>/<user>`.
The token travels as it is (the `mysql_clear_password` plugin, which PyMySQL answers when the proxy asks
for it), so only over TLS: the certificate chain and the host name are verified (`tls_context`), as in
the Module 3 function. A token is valid for 15 minutes, but only to log in: the connection is kept at
module scope and reused by warm invocations; a new token is made for each new connection.
"""
import json
import os
import ssl

import boto3
import pymysql

DB_HOST = os.environ.get("DB_HOST", "")
DB_USER = os.environ.get("DB_USER", "")
DB_PORT = int(os.environ.get("DB_PORT", "3306"))
CONNECT_TIMEOUT_S = 5
CONNECTION_LOST = {2006, 2013, 2014, 2055}  # gone away, lost during query, out of sync, lost (PyMySQL)

rds_client = boto3.client("rds")  # signs tokens with the execution role's credentials
connection = None


class ConfigurationError(Exception):
    pass


def tls_context():
    """TLS that verifies the certificate chain (the runtime's trusted CAs) and that the certificate names DB_HOST."""
    return ssl.create_default_context()


def connect():
    if not DB_HOST or not DB_USER:
        raise ConfigurationError("environment variables DB_HOST (the RDS Proxy endpoint) and DB_USER must be set")
    token = rds_client.generate_db_auth_token(DBHostname=DB_HOST, Port=DB_PORT, DBUsername=DB_USER)
    return pymysql.connect(host=DB_HOST, port=DB_PORT, user=DB_USER, password=token,
                           connect_timeout=CONNECT_TIMEOUT_S, autocommit=True, ssl=tls_context())


def query_now():
    global connection
    for attempt in (1, 2):
        if connection is None:
            connection = connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute("select now()")
                return cursor.fetchone()[0]
        except (pymysql.err.OperationalError, pymysql.err.InterfaceError) as e:
            connection = None
            lost = isinstance(e, pymysql.err.InterfaceError) or (e.args and e.args[0] in CONNECTION_LOST)
            if attempt == 2 or not lost:
                raise


def lambda_handler(event, context):
    try:
        now = query_now()
    except (ConfigurationError, pymysql.Error) as e:
        print(f"ERROR {type(e).__name__}: {e}")  # a token is never in the message
        return {"statusCode": 500, "body": json.dumps({"errorType": type(e).__name__, "errorMessage": str(e)})}
    return {
        'statusCode': 200,
        'body': json.dumps(now.isoformat())
    }

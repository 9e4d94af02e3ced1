# Measurement only (notebook 06, `make bench`): Module 2's function with the connection moved to
# module scope, as Module 4 does, and never closed. Each execution environment opens one
# connection on its first invocation and keeps it for as long as it lives, so N concurrent
# environments need N connections to whatever DB_HOST names: N database connections when it is
# the database's endpoint, N client connections sharing the proxy's pool when it is the RDS Proxy
# endpoint. The code is the same for both; only DB_HOST changes.
#
# Environment variables: DB_HOST, DB_USER, DB_PASSWORD (the measurement keeps the credentials
# in the function's configuration, as Module 2 keeps them in its code), HOLD_S (seconds each
# invocation holds its query, so that concurrent invocations overlap; the event's "hold_s"
# overrides it).
import json
import os

import pymysql

DB_HOST = os.environ["DB_HOST"]
DB_USER = os.environ["DB_USER"]
DB_PASSWORD = os.environ["DB_PASSWORD"]
HOLD_S = float(os.environ.get("HOLD_S", "0"))

connection = None  # one per execution environment, reused by every warm invocation


def lambda_handler(event, context):
    global connection
    hold = float((event or {}).get("hold_s", HOLD_S))
    if connection is None:
        connection = pymysql.connect(host=DB_HOST, user=DB_USER, password=DB_PASSWORD, connect_timeout=5)
    try:
        cursor = connection.cursor()
        cursor.execute("select now(), sleep(%s)", (hold,))
        result = cursor.fetchone()
        connection.commit()
    except pymysql.err.OperationalError:
        connection = None  # lost (for example the database restarted): connect again next time
        raise

    return {
        'statusCode': 200,
        'body': json.dumps(result[0].isoformat())
    }

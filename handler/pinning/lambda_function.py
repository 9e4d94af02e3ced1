# Measurement only (notebook 06, `make bench`): the pitfall of a module-scope connection through
# RDS Proxy that never ends its transaction.
#
# PyMySQL turns autocommit off by default, so the first query opens a transaction. RDS Proxy can
# give a backend connection to another client only at a transaction boundary; a handler that
# never commits keeps its backend connection for as long as its execution environment lives,
# and once every connection of the pool is held that way, every other client of the proxy waits
# ConnectionBorrowTimeout and then gets error 9501.
#
# Environment variables: DB_HOST (the RDS Proxy endpoint), DB_USER, DB_PASSWORD, HOLD_S (seconds each
# invocation holds its query, so that concurrent invocations overlap and each gets an environment of
# its own), and FIX:
#   "none"        the pitfall: no commit
#   "commit"      commit after the query, as Module 2 and the printed Module 3 code do
#   "autocommit"  autocommit=True, as the project's Module 3 handler does
import json
import os

import pymysql

DB_HOST = os.environ["DB_HOST"]
DB_USER = os.environ["DB_USER"]
DB_PASSWORD = os.environ["DB_PASSWORD"]
FIX = os.environ.get("FIX", "none")
HOLD_S = float(os.environ.get("HOLD_S", "0"))

connection = None  # one per execution environment, reused by every warm invocation


def lambda_handler(event, context):
    global connection
    if connection is None:
        connection = pymysql.connect(host=DB_HOST, user=DB_USER, password=DB_PASSWORD, connect_timeout=5,
                                     autocommit=(FIX == "autocommit"))
    try:
        cursor = connection.cursor()
        cursor.execute("select now(), sleep(%s)", (HOLD_S,))
        result = cursor.fetchone()
        if FIX == "commit":
            connection.commit()
    except pymysql.err.OperationalError:
        connection = None  # this connection is given up; the next invocation connects again
        raise

    return {
        'statusCode': 200,
        'body': json.dumps(result[0].isoformat())
    }

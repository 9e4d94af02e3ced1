# A naive "optimisation" of Module 3's function (notebook 07): the secret is read once per execution
# environment and its password kept for good; every invocation opens a new connection with it.
# After the secret is rotated, the database refuses that password (1045) until the environment ends.
import json
import os

import boto3
import pymysql

secret = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=os.environ["SECRET_NAME"])["SecretString"])


def lambda_handler(event, context):
    try:
        db = pymysql.connect(host=os.environ["DB_HOST"], user=secret["username"], password=secret["password"],
                             connect_timeout=5)
    except pymysql.err.OperationalError as e:
        return {"statusCode": 500, "body": json.dumps({"errorType": "OperationalError", "errorCode": e.args[0],
                                                       "errorMessage": str(e.args[1])})}
    try:
        with db.cursor() as cursor:
            cursor.execute("select now()")
            now = cursor.fetchone()[0]
        db.commit()
    finally:
        db.close()
    return {"statusCode": 200, "body": json.dumps(now.isoformat())}

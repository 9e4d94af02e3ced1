# Module 2's function, as the workshop has it: the database credentials are written in the code,
# and every invocation opens a new connection and closes it again.
# The lab writes the RDS endpoint over the placeholder in `host` when it deploys this file,
# as the learner pasted it in the console.
import json
import pymysql


def lambda_handler(event, context):
    db = pymysql.connect(
        host = 'YOUR RDS ENDPOINT',
        user = 'admin',
        password = 'Passw0rd'
        )

    cursor = db.cursor()

    cursor.execute("select now()")
    result = cursor.fetchone()

    db.commit()
    db.close()

    return {
        'statusCode': 200,
        'body': json.dumps(result[0].isoformat())
    }

"""Several learners on one account, and a second region beside the first: each lab has its own names,
and one learner's cleanup never touches another's lab."""
from __future__ import annotations

import json

from lab_helpers import api, baseline, cleanup, iam, module3
from lab_helpers.cleanup import ALREADY_GONE, DELETED
from lab_helpers.core import web
from lab_helpers.core.config import Lab, names_for
from lab_helpers.local import lifecycle


def answers(lab: Lab) -> bool:
    answer = web.get(api.invoke_url(lab))
    return answer.status == 200 and json.loads(answer.body).get("statusCode") == 200


def test_two_learners_and_a_second_region_side_by_side_and_one_cleanup_leaves_the_others_alone():
    with lifecycle.fresh("lab-test-learners-") as info:
        kim = Lab.local(info["endpoint"], names=names_for("kim", "ap-northeast-2"))
        lee = Lab.local(info["endpoint"], names=names_for("lee", "ap-northeast-2"))
        virginia = Lab.local(info["endpoint"], "us-east-1")  # no learner, another region
        for lab in (kim, lee, virginia):
            baseline.ensure_baseline(lab)
            module3.ensure_module3(lab)
        assert all(answers(lab) for lab in (kim, lee, virginia))
        assert kim.names.function == "kim-serverless-app-lambda" and lee.names.db_instance == "lee-serverless-app-rds"
        assert virginia.names.lambda_role == "serverless-app-lambda-role-us-east-1"

        rows = cleanup.cleanup(kim, "all")
        assert all(row["result"] in (DELETED, ALREADY_GONE) for row in rows), rows
        assert cleanup.leftovers(kim, "all") == []
        # lee's lab (same account, same region) and the other region's (IAM is global) still answer
        assert answers(lee) and answers(virginia)
        assert iam.find_lambda_role(lee) is not None and iam.find_lambda_role(virginia) is not None

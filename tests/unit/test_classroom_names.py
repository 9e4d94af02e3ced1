"""The instructor's roster reads learners from the lab's names: the prefix `config.names_for` puts on them."""
from __future__ import annotations

import datetime as dt

import pytest

from lab_helpers.classroom.discover import learner_of, role_learner
from lab_helpers.classroom.roster import age, compact
from lab_helpers.core.config import NAMES, names_for

BASES = ("vpc", "db_instance", "db_subnet_group", "proxy", "function", "rotation_function", "secret", "api")


@pytest.mark.parametrize("learner", ["", "kim01", "a"])
@pytest.mark.parametrize("field", BASES)
def test_every_prefixed_name_gives_back_its_learner(field, learner):
    assert learner_of(getattr(names_for(learner), field), getattr(NAMES, field)) == learner


@pytest.mark.parametrize("name", ["serverless-app-lambda-m2", "kim-serverless-app-lambda-storm",
                                  "Kim-serverless-app-lambda", "1kim-serverless-app-lambda", "my-app",
                                  "-serverless-app-lambda"])
def test_other_names_give_no_learner(name):
    assert learner_of(name, NAMES.function) is None


@pytest.mark.parametrize("region", ["ap-northeast-2", "us-east-1"])
@pytest.mark.parametrize("learner", ["", "kim01"])
@pytest.mark.parametrize("field", ["lambda_role", "proxy_role", "rotation_role"])
def test_iam_roles_are_read_for_their_region_only(field, learner, region):
    name = getattr(names_for(learner, region), field)
    assert role_learner(name, getattr(NAMES, field), region) == learner
    other = "eu-west-1"
    assert role_learner(name, getattr(NAMES, field), other) is None


def test_compact_and_age_as_the_table_shows_them():
    assert compact(["00", "01", "02", "03", "04"]) == "00-04"
    assert compact(["00", "01", "07"]) == "00-01, 07"
    assert compact(["00 (partial)", "01"]) == "00 (partial), 01"
    assert compact([]) == "-"
    now = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
    assert age(now - dt.timedelta(minutes=7, seconds=59), now) == "7m"
    assert age(now - dt.timedelta(hours=2, minutes=5), now) == "2h 05m"
    assert age(now - dt.timedelta(days=3, hours=4, minutes=1), now) == "3d 04h"
    assert age(None, now) == "?"

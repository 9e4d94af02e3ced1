"""Notebook 04 deploys the module's printed code, changed only where the module has the learner change it."""
from __future__ import annotations

import hashlib

from lab_helpers import lambda_fn, module3, proxy
from lab_helpers.core import paths
from lab_helpers.core.config import Lab, names_for

PROXY = "serverless-app-rds-proxy.proxy-abcdefghijkl.ap-northeast-2.rds.amazonaws.com"
# SHA-256 of the code block of Module 3, Step 3, item 4 (the ```Python block of the module's README.md, from
# "import json" to its last line and newline)
MODULE_S_CODE_SHA256 = "df96487857656cce73e826fa2f6904761d97d4df01a591315f1ae56c9ec7f22e"


def test_the_printed_code_is_the_module_s_byte_for_byte():
    """No note of the lab's inside it (those live in handler/module3_printed/README.md): line 15 is the module's."""
    data = paths.handler_file("module3_printed").read_bytes()
    assert hashlib.sha256(data).hexdigest() == MODULE_S_CODE_SHA256
    lines = data.decode("utf-8").splitlines()
    assert lines[0] == "import json"
    assert lines[15 - 1] == "        host = 'YOUR RDS PROXY ENDPOINT', "  # item 5: "코드 상 15 라인"


def diff_lines(lab: Lab) -> tuple[list[str], list[str]]:
    text = module3.printed_diff(lab)
    removed = [line[1:] for line in text.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in text.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return removed, added


def test_the_module_s_own_names_change_only_the_proxy_endpoint(monkeypatch):
    monkeypatch.setattr(proxy, "proxy_endpoint", lambda lab: PROXY)
    lab = Lab(target="local")
    removed, added = diff_lines(lab)
    assert removed == ["        host = 'YOUR RDS PROXY ENDPOINT', "]
    assert added == [f"        host = '{PROXY}', "]
    source = lambda_fn.show_code("module3_printed")
    deployed = source.replace("YOUR RDS PROXY ENDPOINT", PROXY)
    assert module3.printed_package(lab) == lambda_fn.build_package("module3_printed",
                                                                   {"YOUR RDS PROXY ENDPOINT": PROXY})
    assert deployed.count("\n") == source.count("\n")


def test_another_learner_and_region_also_change_the_secret_name_and_region(monkeypatch):
    monkeypatch.setattr(proxy, "proxy_endpoint", lambda lab: "kim-proxy.example")
    lab = Lab(target="local", region="us-east-1", names=names_for("kim", "us-east-1"))
    removed, added = diff_lines(lab)
    assert removed == ['secret_name = "serverless-app-rds-secret"', 'region_name = "ap-northeast-2"',
                       "        host = 'YOUR RDS PROXY ENDPOINT', "]
    assert added == ['secret_name = "kim-serverless-app-rds-secret"', 'region_name = "us-east-1"',
                     "        host = 'kim-proxy.example', "]

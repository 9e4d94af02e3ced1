import io
import subprocess
import sys
import zipfile

import pytest

from lab_helpers import iam, lambda_fn, network
from lab_helpers.core import paths
from lab_helpers.lambda_fn import PROXY_ENDPOINT_PLACEHOLDER, RDS_ENDPOINT_PLACEHOLDER

PROXY_HOST = "serverless-app-rds-proxy.proxy-abc.ap-northeast-2.rds.amazonaws.com"


def files(package: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_package_is_deterministic_and_carries_pymysql():
    first = lambda_fn.build_package("module3_printed", {PROXY_ENDPOINT_PLACEHOLDER: PROXY_HOST})
    assert first == lambda_fn.build_package("module3_printed", {PROXY_ENDPOINT_PLACEHOLDER: PROXY_HOST})
    contents = files(first)
    assert "pymysql/__init__.py" in contents and "pymysql/connections.py" in contents
    assert not [name for name in contents if "__pycache__" in name or name.endswith(".pyc")]
    handler = contents["lambda_function.py"].decode()
    assert f"host = '{PROXY_HOST}'" in handler
    assert PROXY_ENDPOINT_PLACEHOLDER not in handler and RDS_ENDPOINT_PLACEHOLDER not in handler


def test_package_runs_without_site_packages(tmp_path, module2_package):
    zipfile.ZipFile(io.BytesIO(module2_package)).extractall(tmp_path)
    check = "import lambda_function, pymysql; print(pymysql.VERSION_STRING)"
    done = subprocess.run([sys.executable, "-S", "-c", check], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert list(tmp_path.glob("pymysql-*.dist-info/licenses/LICENSE"))


def test_package_refuses_a_placeholder_left_or_a_wrong_replacement():
    with pytest.raises(ValueError, match="YOUR RDS ENDPOINT"):
        lambda_fn.build_package("module2")
    with pytest.raises(ValueError, match="does not occur"):
        lambda_fn.build_package("module3", {RDS_ENDPOINT_PLACEHOLDER: "x"})
    with pytest.raises(ValueError, match="unknown handler variant"):
        lambda_fn.build_package("module9")


def test_show_code_is_the_handler_source():
    assert lambda_fn.show_code("module3") == paths.handler_file("module3").read_text()
    assert "YOUR RDS PROXY ENDPOINT" in lambda_fn.show_code("module3_printed")


def test_show_code_with_parts_prints_only_them_in_the_file_s_order_and_says_what_is_left_out():
    full = lambda_fn.show_code("rotation").splitlines()
    part = lambda_fn.show_code("rotation", "finish_secret", "set_secret").splitlines()
    body = part[1:]
    shown = [line for line in body if line != "# ..."]
    assert part[0] == (f"# handler/rotation/lambda_function.py 에서 finish_secret, set_secret "
                       f"(전체 {len(full)}줄 중 {len(shown)}줄)")
    assert body[0] == "# ..." and body[1] == "def set_secret(arn, token):"  # what comes before it is left out
    assert body.count("# ...") == 2 and "def finish_secret(arn, token):" in body
    assert "def create_secret(arn, token):" not in body and "def test_secret(arn, token):" not in body
    it = iter(full)
    assert all(line in it for line in shown)  # the file's own lines, in its order
    # a comment right above a part belongs to it; neighbouring parts are not separated
    storm = lambda_fn.show_code("storm", "DB_HOST", "DB_USER").splitlines()
    assert storm[1:] == ["# ...", 'DB_HOST = os.environ["DB_HOST"]', 'DB_USER = os.environ["DB_USER"]']
    with pytest.raises(ValueError, match="defines no nowhere at its top level"):
        lambda_fn.show_code("rotation", "nowhere")


def test_function_runs_in_the_lambda_subnets(lab, network_ready, module2_package, calls, rerun, has_lab_tags):
    role = iam.ensure_lambda_role(lab)
    calls.clear()
    function = lambda_fn.ensure_function(lab, module2_package)
    create = calls.one("CreateFunction")
    assert {key: create[key] for key in ("FunctionName", "Runtime", "Handler", "Role", "MemorySize", "Timeout")} == {
        "FunctionName": "serverless-app-lambda", "Runtime": "python3.12", "Handler": "lambda_function.lambda_handler",
        "Role": role["arn"], "MemorySize": 128, "Timeout": 10}
    assert create["VpcConfig"] == {"SubnetIds": network.subnet_ids(lab, "lambda"),
                                   "SecurityGroupIds": [network.security_group_id(lab, "lambda-sg")]}
    assert has_lab_tags(create["Tags"], 2)
    assert function["code_sha256"] == lambda_fn.code_sha256(module2_package)
    assert (function["state"], function["environment"]) == ("Active", {})
    assert lambda_fn.find_function(lab) == function
    rerun(function, lambda_fn.ensure_function, module2_package)


def test_function_updates_only_what_changed(lab, function_ready, calls, rerun):
    package = lambda_fn.build_package("module3")
    environment = {"SECRET_NAME": "serverless-app-rds-secret", "DB_HOST": PROXY_HOST}
    updated = lambda_fn.ensure_function(lab, package, environment)
    assert calls.mutating() == ["UpdateFunctionCode", "UpdateFunctionConfiguration"]
    assert calls.one("UpdateFunctionConfiguration")["Environment"] == {"Variables": environment}
    assert (updated["code_sha256"], updated["environment"]) == (lambda_fn.code_sha256(package), environment)
    rerun(updated, lambda_fn.ensure_function, package, environment)
    calls.clear()
    lambda_fn.ensure_function(lab, package, {**environment, "DB_PORT": "3306"})
    assert calls.mutating() == ["UpdateFunctionConfiguration"]


def test_delete_function(lab, function_ready):
    assert lambda_fn.delete_function(lab) is True
    assert lambda_fn.find_function(lab) is None
    assert lambda_fn.delete_function(lab) is False

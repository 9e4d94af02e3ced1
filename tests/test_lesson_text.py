"""What a Korean learner reads, checked on the committed notebooks (their reference outputs are what `make test`'s
nbval proves a real run prints):

- every output of 00-07 and 99 in Korean: no English snake_case identifier, no True/False, no table row or header
  named by a helper's English key (AWS names, resource names, ARNs, URLs, notebook names and the code listings the
  lesson prints on purpose aside);
- the route: each notebook's "다음은 ..." names the next notebook of `run_lab.LESSON`; every `NN_name` mention is a
  notebook of the lesson; 00's map and the README's table list the lesson in its order; and the prose sends the
  learner to the notebook that really does what it says (the improved function and its DB_HOST, the re-read).
"""
from __future__ import annotations

import base64
import math
import re
import struct
from pathlib import Path

import nbformat
import pytest

from lab_helpers import korean, requests_shown
from lab_helpers.core import paths
from lab_helpers.tools import run_lab

NOTEBOOKS = paths.CHECKOUT / "notebooks"
README = paths.CHECKOUT / "README.md"

# cells whose output is code the lesson prints on purpose (the handlers, 04's diff of the printed code)
CODE_LISTING = re.compile(r"\b(show_code|printed_diff)\(")
# what may stay as it is in an output: URLs, ARNs, notebook names, and the names of AWS and MySQL themselves
VERBATIM = [re.compile(p) for p in (r"https?://\S+", r"\barn:[^\s,]+", r"\b\d\d_[a-z][a-z0-9_]*\b",
                                    r"\bssl_disabled=True\b")]  # the PyMySQL argument 06 measures, as typed
# (lambda_function: the module part of a Python function's handler, lambda_function.lambda_handler, as the Lambda
# console's [런타임 설정] → [핸들러] shows it and a learner types it)
AWS_AND_MYSQL_NAMES = {"max_connections", "mysql_native_password", "caching_sha2_password", "lambda_function"}
SNAKE = re.compile(r"(?<![\w.:/-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w-])")
PYTHON_BOOL = re.compile(r"\b(True|False)\b")
NOTEBOOK_NAME = re.compile(r"\b\d\d_[a-z][a-z0-9_]*\b")
NEXT = re.compile(r"다음은 `?(\d\d_[a-z][a-z0-9_]*)")


def notebook(name: str | Path) -> nbformat.NotebookNode:
    """A notebook of the lesson by name, or an executed one by its path."""
    return nbformat.read(name if isinstance(name, Path) else NOTEBOOKS / f"{name}.ipynb", as_version=4)


def output_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        else:
            data = output.get("data", {})
            parts.append(data.get("text/plain", "") if "text/html" not in data
                         else re.sub(r"<[^>]+>", "  ", data["text/html"]))
            if output.get("output_type") == "error":
                parts.append(f"{output.get('ename')}: {output.get('evalue')}")
    return "".join(parts)


def learner_visible_outputs(name: str | Path) -> list[tuple[int, str]]:
    """(cell index, output text) of each code cell whose output is not a code listing."""
    return [(i, output_text(cell)) for i, cell in enumerate(notebook(name).cells)
            if cell.cell_type == "code" and not CODE_LISTING.search(cell.source) and output_text(cell)]


def english_in(text: str) -> list[str]:
    """The English identifiers a learner would read in `text`."""
    for pattern in VERBATIM:
        text = pattern.sub(" ", text)
    found = [word for word in SNAKE.findall(text) if word not in AWS_AND_MYSQL_NAMES]
    found += PYTHON_BOOL.findall(text)
    for line in text.splitlines():  # a table's row or header named by a helper's own key
        cells = [c for c in re.split(r"\s{2,}", line.strip()) if c]
        found += [c for c in cells[:1] if c in korean.COLUMNS and c != korean.column(c)]
        if len(cells) > 1 and all(c in korean.COLUMNS for c in cells):
            found += cells[1:]
    return found


def english_outputs(name: str | Path) -> list[str]:
    """Each English identifier or True/False a learner reads in a notebook's outputs, with its cell."""
    return sorted({f"cell {i}: {word}" for i, text in learner_visible_outputs(name) for word in english_in(text)})


@pytest.mark.parametrize("name", run_lab.LESSON)
def test_every_output_a_learner_reads_is_in_korean(name):
    """On the reference outputs; tests/test_lesson_runs.py checks the same on executed notebooks (06's measurement
    tables, which the committed notebook does not keep, included)."""
    english = english_outputs(name)
    assert not english, f"{name}: English in what the learner reads: {english}"


# a console label in brackets: as AWS's Korean console writes it, the module's English name in parentheses after it
ENGLISH_LABEL = re.compile(r"(?<![!\w\]])\[([A-Za-z][^\]\"\uac00-\ud7a3]*)\](?!\()")  # no Hangul in it
SAME_IN_KOREAN = {"VPC"}  # labels the Korean console writes as the English one


@pytest.mark.parametrize("name", run_lab.LESSON)
def test_console_labels_are_written_as_the_korean_console_writes_them(name):
    english = [label for kind, text in all_text(name) if kind == "markdown"
               for label in ENGLISH_LABEL.findall(text) if label not in SAME_IN_KOREAN]
    assert english == [], f"{name}: console labels in English only: {english}"


def test_the_check_finds_english_keys_and_python_values():
    """The check itself: what the tables printed before they were Korean is found; Korean tables and AWS names pass."""
    assert set(english_in("name       admits_mysql_from_lambda_sg\nlambda-sg  False\n")) == {
        "False", "admits_mysql_from_lambda_sg", "name"}
    assert set(english_in("dns_hostnames  True\nstate          available\n")) == {"True", "dns_hostnames", "state"}
    assert english_in("이름            serverless-app-rds\nDB 의 max_connections  100\n"
                      "01_secrets_manager  보안 암호\narn:aws:iam::123:role/x_y https://a.b/c_d\n") == []


# ---------------------------------------------------------------- the request behind each creating step

CREATING_STEPS = {
    "01_secrets_manager": ["secretsmanager CreateSecret"],
    "02_vpc_endpoint": ["ec2 CreateSecurityGroup", "ec2 AuthorizeSecurityGroupIngress", "ec2 CreateVpcEndpoint"],
    "03_rds_proxy": ["iam CreateRole", "iam PutRolePolicy", "ec2 AuthorizeSecurityGroupIngress", "rds CreateDBProxy",
                     "rds RegisterDBProxyTargets"],
    "04_lambda_update": ["iam AttachRolePolicy", "iam PutRolePolicy", "iam DetachRolePolicy",
                         "lambda UpdateFunctionCode"],
    "06_connection_lab": ["lambda UpdateFunctionCode", "lambda UpdateFunctionConfiguration"],
    "07_secret_rotation": ["iam CreateRole", "iam AttachRolePolicy", "iam PutRolePolicy", "logs CreateLogGroup",
                           "lambda CreateFunction", "lambda AddPermission", "secretsmanager RotateSecret"],
    "08_iam_auth": ["rds ModifyDBProxy", "iam PutRolePolicy"],
}
# steps no console form of the module stands for, shown short (`requests_shown.counted`): the operations each
# sent, with what they named (00: Module 2, a CloudFormation stack in the workshop; 07: the demo's functions)
COUNTED_STEPS = {
    "00_prerequisites": {"ec2 CreateVpc": "serverless-app", "ec2 CreateSecurityGroup": "lambda-sg, rds-sg",
                         "ec2 ModifySubnetAttribute": "cloud9-subnet-a", "ec2 AuthorizeSecurityGroupIngress": "rds-sg",
                         "rds CreateDBInstance": "serverless-app-rds", "iam CreateRole": "serverless-app-lambda-role",
                         "lambda CreateFunction": "serverless-app-lambda",
                         "apigateway CreateRestApi": "serverless-app-api", "apigateway CreateStage": "dev"},
    "07_secret_rotation": {"lambda CreateFunction": "serverless-app-lambda-printed, serverless-app-lambda-cached, "
                                                    "serverless-app-lambda-m3",
                           "rds ModifyDBProxy": "serverless-app-rds-proxy"},
}


@pytest.mark.parametrize("name", sorted(CREATING_STEPS))
def test_each_creating_step_shows_its_api_request_next_to_the_console_fields(name):
    shown = [output_text(cell) for cell in notebook(name).cells
             if cell.cell_type == "code" and "requests_shown.shown(" in cell.source]
    operations = [line for text in shown for line in text.splitlines()
                  if re.fullmatch(r"[a-z0-9]+ [A-Z][A-Za-z]+", line)]
    assert operations == CREATING_STEPS[name]
    for text in shown:
        assert "API 요청" in text and "파라미터" in text and "콘솔 항목" in text
        assert any(field in text for field in requests_shown.CONSOLE.values()), "no console field named"
    # the parameters the module's console form fills in, with their values
    joined = "".join(shown)
    expected = {"01_secrets_manager": ["Name  ", "serverless-app-rds-secret"],
                "02_vpc_endpoint": ["ServiceName", "com.amazonaws.ap-northeast-2.secretsmanager", "PrivateDnsEnabled"],
                "03_rds_proxy": ["DBProxyName", "RequireTLS", "VpcSecurityGroupIds", "DBInstanceIdentifiers"],
                "04_lambda_update": ["PolicyArn", "SecretsManagerReadWrite", "secretsmanager:GetSecretValue",
                                     "FunctionName  serverless-app-lambda", "ZipFile", "zip 파일"],
                "06_connection_lab": ["FunctionName  serverless-app-lambda", "ZipFile", "Environment", "SECRET_NAME",
                                      "serverless-app-rds-secret", "DB_HOST", "serverless-app-rds-proxy.proxy-"],
                "07_secret_rotation": ["serverless-app-rds-rotation-role", "CreateFunction", "Handler",
                                       "lambda_function.lambda_handler", '{"ZipFile":"zip 파일 (함수 코드와 PyMySQL)"}',
                                       "VpcConfig", "Principal", "secretsmanager.amazonaws.com", "SourceArn",
                                       "RotationLambdaARN", '{"AutomaticallyAfterDays":30}', "RotateImmediately"],
                "08_iam_auth": ["\"IAMAuth\":\"REQUIRED\"", "rds-db:connect", ":dbuser:prx-ID/admin"]}[name]
    assert [word for word in expected if word not in joined] == []


@pytest.mark.parametrize("name", sorted(COUNTED_STEPS))
def test_each_step_without_a_console_form_shows_its_api_requests_counted_with_what_they_named(name):
    shown = [output_text(cell) for cell in notebook(name).cells
             if cell.cell_type == "code" and "requests_shown.counted(" in cell.source]
    assert shown and all(text.startswith("이 단계가 리소스를 만들 때 보낸 AWS API 요청: ") for text in shown)
    lines = {match[1]: (int(match[2]), match[3]) for text in shown
             for match in re.finditer(r"^  ([a-z0-9]+ [A-Z][A-Za-z]+) +(\d+)  (.+)$", text, re.MULTILINE)}
    assert {request: lines.get(request, (0, ""))[1] for request in COUNTED_STEPS[name]} == COUNTED_STEPS[name]
    for text in shown:  # the heading's totals are the lines' own
        kinds, total = map(int, re.match(r".*: (\d+)종류 (\d+)번", text).groups())
        counts = [int(m) for m in re.findall(r"^  [a-z0-9]+ [A-Z][A-Za-z]+ +(\d+)  ", text, re.MULTILINE)]
        assert (kinds, total) == (len(counts), sum(counts))


# ---------------------------------------------------------------- outputs short enough to read

LINE_PX = 20  # the height of a line of output in JupyterLab, to count an image in lines
MAX_CELL_LINES = 70  # the longest: 04's listing of the module's code, whole (its line numbers are the seed's)
MAX_NOTEBOOK_LINES = 200  # the longest: executed 06, its four charts (~70 lines) and tables included


def seen_lines(output) -> int:
    """How much of the page one output takes, in lines, as the learner scrolls past it: a text's lines, an HTML
    table's rows, an image's height."""
    if output.get("output_type") == "stream":
        return len(output.get("text", "").splitlines())
    if output.get("output_type") == "error":
        return len(output.get("traceback", [])) + 1
    data = output.get("data", {})
    if "image/png" in data:
        width, height = struct.unpack(">II", base64.b64decode(data["image/png"])[16:24])  # the PNG's IHDR
        return math.ceil(height / LINE_PX)
    if "text/html" in data:
        return data["text/html"].count("<tr") or len(re.sub(r"<[^>]+>", "\n", data["text/html"]).split())
    return len(data.get("text/plain", "").splitlines())


def too_long(path: Path) -> list[str]:
    """What of a notebook's outputs is longer than a learner should have to read: a cell over MAX_CELL_LINES, the
    notebook over MAX_NOTEBOOK_LINES (each with its number of lines)."""
    cells = [(i, sum(seen_lines(o) for o in cell.get("outputs", [])))
             for i, cell in enumerate(nbformat.read(path, as_version=4).cells) if cell.cell_type == "code"]
    found = [f"{path.stem} cell {i}: {n} lines" for i, n in cells if n > MAX_CELL_LINES]
    total = sum(n for _, n in cells)
    return found + ([f"{path.stem}: {total} lines in all"] if total > MAX_NOTEBOOK_LINES else [])


@pytest.mark.parametrize("name", run_lab.LESSON)
def test_the_outputs_are_short_enough_to_read(name):
    """On the reference outputs; tests/test_lesson_runs.py checks the same on executed notebooks (06's measurement
    tables and charts, which the committed notebook does not keep, included)."""
    assert too_long(NOTEBOOKS / f"{name}.ipynb") == []


def test_the_length_check_counts_what_the_learner_scrolls_past(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure, png = Figure(figsize=(8, 4), dpi=100), tmp_path / "chart.png"
    figure.savefig(png)  # 400 px high: 20 lines
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("print(code)", outputs=[nbformat.v4.new_output(
            "stream", name="stdout", text="x\n" * 136)]),  # 07's listing of the rotation function, before #18
        nbformat.v4.new_code_cell("chart", outputs=[nbformat.v4.new_output(
            "display_data", data={"image/png": base64.b64encode(png.read_bytes()).decode(), "text/plain": "<Figure>"}),
            nbformat.v4.new_output("display_data", data={"text/html": "<table><tr><td>1</td></tr><tr><td>2</td></tr>"
                                                                      "</table>", "text/plain": "<HTML>"})]),
        nbformat.v4.new_markdown_cell("not an output\n" * 100),
        nbformat.v4.new_code_cell("table", outputs=[nbformat.v4.new_output("execute_result", data={
            "text/plain": "row\n" * 50})])])
    nbformat.write(nb, tmp_path / "07_long.ipynb")
    assert too_long(tmp_path / "07_long.ipynb") == ["07_long cell 0: 136 lines", "07_long: 208 lines in all"]


# ---------------------------------------------------------------- the route

def all_text(name: str) -> list[tuple[str, str]]:
    """(kind, text) of every cell: its source ("markdown" or "code") and its output ("output")."""
    out = []
    for cell in notebook(name).cells:
        out.append((cell.cell_type, cell.source))
        if cell.cell_type == "code":
            out.append(("output", output_text(cell)))
    return out


@pytest.mark.parametrize("name", run_lab.LESSON[:-1])
def test_the_next_step_is_the_next_notebook_of_the_lesson(name):
    following = run_lab.LESSON[run_lab.LESSON.index(name) + 1]
    said = [m for _, text in all_text(name) for m in NEXT.findall(text)]
    assert said, f"{name} never tells the learner which notebook comes next"
    assert set(said) == {following}, f"{name} says next is {sorted(set(said))}; the lesson runs {following}"


def test_cleanup_names_no_next_notebook():
    assert [m for _, text in all_text("99_cleanup") for m in NEXT.findall(text)] == []


@pytest.mark.parametrize("name", run_lab.LESSON)
def test_every_notebook_mentioned_is_one_of_the_lesson(name):
    mentioned = {m for _, text in all_text(name) for m in NOTEBOOK_NAME.findall(text)}
    assert mentioned <= set(run_lab.LESSON), f"{name} mentions {sorted(mentioned - set(run_lab.LESSON))}"


def map_rows(text: str) -> list[str]:
    """The notebook of each row of a markdown table, in order (rows that name none are skipped)."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [found[0] for line in rows if (found := NOTEBOOK_NAME.findall(line))]


def test_00_s_map_lists_the_lesson_in_order():
    maps = [map_rows(text) for kind, text in all_text("00_prerequisites") if kind == "markdown" and map_rows(text)]
    assert maps == [run_lab.LESSON]


def test_the_readme_s_table_lists_the_lesson_in_order():
    section = README.read_text(encoding="utf-8").split("## What the lab teaches", 1)[1].split("\n## ", 1)[0]
    assert map_rows(section) == run_lab.LESSON


def sentences(markdown: str) -> list[str]:
    return [s for s in re.split(r"(?<=니다\.)\s+|(?<=\.\))\s+|\n\s*\n|\n(?=[-|>] )", markdown) if s.strip()]


def calling(call: str) -> set[str]:
    """The notebooks whose code runs `call`."""
    return {name for name in run_lab.LESSON
            if any(kind == "code" and call in text for kind, text in all_text(name))}


def test_the_prose_points_to_the_notebook_that_does_it():
    """A sentence about the improved function's DB_HOST, or about the function reading the secret again, names the
    notebook that deploys that function (06) or rotates the secret (07), not another one."""
    improved = calling("module3.deploy_improved_function(")
    rotates = calling("rotation.rotate(")
    assert improved == {"06_connection_lab"} and rotates == {"07_secret_rotation"}
    rules = [(re.compile(r"`DB_HOST`"), improved | rotates, "the endpoint as DB_HOST"),
             (re.compile(r"다시 읽"), improved | rotates, "the secret read again")]
    wrong = []
    for name in run_lab.LESSON:
        for kind, text in all_text(name):
            if kind != "markdown":
                continue
            for sentence in sentences(text):
                named = set(NOTEBOOK_NAME.findall(sentence)) - {name}
                for pattern, allowed, what in rules:
                    if pattern.search(sentence) and named and not named <= allowed:
                        wrong.append(f"{name}: {what} sent to {sorted(named - allowed)}: {sentence[:120]}")
    assert wrong == []


SECTION_REFERENCE = re.compile(r"`?(\d\d_[a-z][a-z0-9_]*)`? (\d+)절")


def headings(name: str) -> set[str]:
    """The numbers of a notebook's numbered sections ("## 2. ...")."""
    return {m for kind, text in all_text(name) if kind == "markdown" for m in re.findall(r"(?m)^## (\d+)\.", text)}


def test_a_section_named_in_another_notebook_is_that_notebook_s_section():
    wrong = [f"{name}: {target} {number}절" for name in run_lab.LESSON for kind, text in all_text(name)
             if kind == "markdown" for target, number in SECTION_REFERENCE.findall(text)
             if target in run_lab.LESSON and number not in headings(target)]
    assert wrong == []
    assert SECTION_REFERENCE.findall("적용되지 않습니다 (`06_connection_lab` 5절).") == [("06_connection_lab", "5")]


def test_the_label_check_can_fail():
    assert ENGLISH_LABEL.findall("### 4. [Secret name]: `x` [링크](https://a) ![img](b)") == ["Secret name"]
    assert ENGLISH_LABEL.findall("[보안 암호 이름] (Secret name), [VPC]") == ["VPC"]


def test_the_route_checks_can_fail():
    assert map_rows("| a | `01_secrets_manager` |\n| b | `03_rds_proxy` |") == ["01_secrets_manager", "03_rds_proxy"]
    assert NEXT.findall("측정 완료. 다음은 99_cleanup 입니다.") == ["99_cleanup"]
    drifted = "이 실습에서는 `04_lambda_update` 가 함수의 환경 변수 `DB_HOST` 로 넘겨 줍니다."
    assert set(NOTEBOOK_NAME.findall(sentences(drifted)[0])) == {"04_lambda_update"}


def test_the_printed_code_s_readme_is_where_04_says():
    assert (Path(paths.handler_file("module3_printed")).parent / "README.md").is_file()

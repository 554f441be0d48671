"""The seed form's numbers end to end through the command line, and the CLI contract."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

from generator.cli import main

SEED = "wangcheng-kexie"


def run_json(capsys, project) -> dict:
    assert main(["check", "--format", "json", "-p", str(project)]) == 0
    return json.loads(capsys.readouterr().out, parse_float=Decimal)


def seed_form(data: dict) -> dict:
    return next(f for f in data["forms"] if f["department"] == SEED and f["year"] == 2021)


def test_check_json_reproduces_the_seed_execution_score(capsys, sample_project):
    form = seed_form(run_json(capsys, sample_project))
    # B/A = 363.88 / 302 = 1.204900... → 120.49 %; symmetric deviation: 10 × (1 − 0.2049) = 7.951 → 7.95
    assert form["execution"] == {"rate": Decimal("120.49"), "score": Decimal("7.95"), "weight": 10,
                                 "score_range": [Decimal("7.95"), Decimal("7.95")],
                                 "reported": {"rate": Decimal("118.65"), "score": Decimal("7.95")}}
    assert form["profile"]["name"] == "deviation"
    assert form["fictional"] is False


def test_check_json_explains_the_seed_rate_and_bounds_its_total(capsys, sample_project):
    form = seed_form(run_json(capsys, sample_project))
    findings = {f["code"]: f for f in form["findings"]}
    # the printed 118.65 % is (B − C)/A = 358.32 / 302, the form's own header formula; the score follows B/A
    rate = findings["rate-other-rule"]
    assert (rate["severity"], rate["path"], rate["reported"], rate["computed"]) == (
        "warning", "funds.reported.rate", Decimal("118.65"), Decimal("120.49"))
    assert "(B−C)/A" in rate["message"]
    assert (rate["file"], rate["line"]) == ("content/departments/wangcheng-kexie/2021.yaml", 10)
    # legible: 7.95 + 80 = 87.95; 10 (execution) + 80 legible weights leave 10 for the illegible training row,
    # so the total lies in 87.95–97.95 and the printed 94.52 cannot be called wrong
    assert (form["total"], form["total_range"]) == (None, [Decimal("87.95"), Decimal("97.95")])
    assert (form["grade"], form["grade_range"]) == ("良–优", ["优", "良"])
    total = findings["total-unconfirmed"]
    assert (total["severity"], total["reported"], total["computed"]) == ("info", Decimal("94.52"), "87.95–97.95")
    for wrong in ("rate-mismatch", "total-mismatch", "grade-mismatch", "weights-sum", "execution-score-mismatch"):
        assert wrong not in findings


def test_check_json_contract_fields(capsys, sample_project):
    data = run_json(capsys, sample_project)
    # 26 department-wide forms (24 demo, 1 real, 1 重庆 demo) and 7 project forms (4 real, 3 demo)
    assert len(data["forms"]) == 33
    assert sum(1 for form in data["forms"] if form["form"] == "project") == 7
    for form in data["forms"]:
        for key in ("department", "year", "profile", "execution", "indicators", "total", "reported_total",
                    "grade", "findings"):
            assert key in form
        for row in form["indicators"]:
            assert {"target", "actual", "weight", "score", "reported_score"} <= set(row)
        for finding in form["findings"]:
            assert set(finding) == {"code", "severity", "path", "file", "line", "reported", "computed", "message"}
    seed_rows = seed_form(data)["indicators"]
    assert seed_rows[0]["target"] == {"text": "12000人次", "kind": "quantity", "comparator": None,
                                      "number": 12000, "unit": "人次"}


def test_check_text_summary_exits_zero(capsys, sample_project):
    assert main(["check", "-p", str(sample_project)]) == 0
    out = capsys.readouterr().out
    assert "wangcheng-kexie 2021  长沙市望城区科学技术协会" in out
    assert "execution rate 120.49% (reported 118.65%)   score 7.95 / 10" in out
    assert "total 87.95–97.95 (reported 94.52)   grade 良–优" in out
    assert "33 forms from 14 departments checked under profile 'deviation'" in out


def test_strict_fails_on_findings(capsys, sample_project):
    assert main(["check", "--strict", "-p", str(sample_project)]) == 1


def test_strict_passes_a_clean_site(capsys, tiny_project):
    (tiny_project / "content/departments/alpha/2022.yaml").unlink()  # the form with findings
    assert main(["check", "--strict", "-p", str(tiny_project)]) == 0


def test_broken_record_gives_located_errors_without_traceback(tmp_path, tiny_project):
    record = tiny_project / "content/departments/alpha/2021.yaml"
    record.write_text(record.read_text(encoding="utf-8").replace("weight: 50", "weight: 五十"), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "generator", "check", "-p", str(tiny_project)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert ('content/departments/alpha/2021.yaml:15:102: indicators[0].weight: expected a number from 0 to 100, '
            'got "五十" (write digits only, without units or quotes)') in result.stderr


def test_schema_command_prints_json_schema(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["properties"]["indicators"]["items"]["properties"]["target"]["title"] == "目标值"


def test_schema_out_writes_all(tmp_path, capsys):
    assert main(["schema", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "department.schema.json", "layout.schema.json", "profile.schema.json", "report.schema.json", "site.schema.json"]


def test_sample_validates_against_published_schema(capsys):
    """The JSON Schema we publish accepts the bundled content (checked by an independent validator)."""
    import jsonschema
    import yaml
    from conftest import REPO

    assert main(["schema", "report"]) == 0
    schema = json.loads(capsys.readouterr().out)
    for path in sorted((REPO / "content/departments").glob("*/[0-9]*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        jsonschema.validate(data, schema)


def test_quiet_verbose_and_no_colour_off_a_terminal(capsys, sample_project):
    assert main(["check", "-q", "-p", str(sample_project)]) == 0
    quiet = capsys.readouterr().out
    assert quiet.count("\n") == 1 and quiet.startswith("33 forms from 14 departments")
    assert main(["check", "-v", "-p", str(sample_project)]) == 0
    verbose = capsys.readouterr().out
    assert "    indicators[0] 科普服务人数: 12000人次 → 12000人次: 10.00 / 10 (quantity)" in verbose
    assert "\033[" not in verbose  # captured output is not a terminal: no colour codes


def test_colour_on_a_terminal_unless_no_color(monkeypatch):
    import io

    from generator.score.report_text import use_colour

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_colour(Terminal()) is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_colour(Terminal()) is False
    assert use_colour(io.StringIO()) is False


def test_build_verbose_prints_every_finding_in_full(sample_project, capsys):
    """The build keeps slim forms (a finding's kind and severity) for the pages listing every form;
    ``build -v`` still prints each finding's sentence and position, as ``check -v`` does."""
    assert main(["build", "-v", "-p", str(sample_project)]) == 0
    out = capsys.readouterr().out
    assert "content/departments/wangcheng-kexie/2021.yaml:" in out and "rate-other-rule" in out
    assert "符合" in out  # the sentence, not only the code

"""Valid but suspect forms: ``check`` accepts them (exit 0) and the audit names each oddity.

Each folder in ``tests/fixtures/suspect/`` is a complete small project whose content is
valid, with exactly one suspect form. ``expected.json`` lists that form's findings as
``[{"code", "severity", "path", "file", "line"}]`` in report order; the form is the one
named by their ``file`` (``content/departments/<department>/<year>.yaml``). Every other
form in the project is clean. ``--strict`` fails exactly when an error or warning is
expected: info findings (over-execution, over-achievement, illegible) do not fail it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from generator.cli import main
from generator.score.audit import CODES

SUSPECT = Path(__file__).parent / "fixtures" / "suspect"
CASES = sorted(p for p in SUSPECT.iterdir() if p.is_dir())
KEYS = ("code", "severity", "path", "file", "line")
FORM_FILE = re.compile(r"content/departments/([a-z0-9-]+)/(\d{4})\.yaml\Z")


def expected_findings(folder: Path) -> list[dict]:
    return json.loads((folder / "expected.json").read_text(encoding="utf-8"))


def suspect_form(expected: list[dict]) -> tuple[str, int]:
    files = {f["file"] for f in expected}
    assert len(files) == 1, files
    match = FORM_FILE.match(files.pop())
    assert match
    return match.group(1), int(match.group(2))


def check_json(folder: Path, capsys) -> tuple[int, dict]:
    code = main(["check", "--format", "json", "-p", str(folder)])
    out, err = capsys.readouterr()
    assert err == ""
    return code, json.loads(out)


def test_catalogue_is_complete():
    assert len(CASES) >= 10
    codes = set()
    for folder in CASES:
        expected = expected_findings(folder)
        assert expected, folder.name
        for finding in expected:
            assert set(finding) == set(KEYS), folder.name
            assert CODES[finding["code"]] == finding["severity"], folder.name
            codes.add(finding["code"])
        suspect_form(expected)
    # the list: each of these is the subject of at least one case
    assert {"zero-budget", "over-execution", "transfer-exceeds-executed", "unit-mismatch",
            "qualitative-out-of-band", "weights-sum", "missing-reason", "unparseable-value",
            "total-mismatch", "rate-mismatch"} <= codes


@pytest.mark.parametrize("folder", CASES, ids=[p.name for p in CASES])
def test_suspect_form_findings(folder: Path, capsys):
    expected = expected_findings(folder)
    department, year = suspect_form(expected)
    code, data = check_json(folder, capsys)
    assert code == 0
    forms = [f for f in data["forms"] if (f["department"], f["year"]) == (department, year)]
    assert len(forms) == 1
    got = [{key: finding[key] for key in KEYS} for finding in forms[0]["findings"]]
    assert got == expected
    others = {(f["department"], f["year"]): f["findings"] for f in data["forms"] if f is not forms[0]}
    assert others and all(not findings for findings in others.values()), others


@pytest.mark.parametrize("folder", CASES, ids=[p.name for p in CASES])
def test_strict_fails_on_errors_and_warnings(folder: Path, capsys):
    serious = any(f["severity"] in ("error", "warning") for f in expected_findings(folder))
    code = main(["check", "--strict", "-p", str(folder)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert code == (1 if serious else 0)
    assert out  # the text report is still printed

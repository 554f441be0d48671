"""Every error message a user can meet in ``perfsite check``, pinned word for word.

Each folder in ``tests/fixtures/invalid/`` is a complete small project (the tiny site
with one defect, or several for ``many-errors-at-once``) and an ``expected.txt`` holding
the exact stderr. ``{project}`` in ``expected.txt`` stands for the absolute project path.
Cases in ``XFAIL`` pin the message we believe is right where the engine is wrong today.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator.cli import main

INVALID = Path(__file__).parent / "fixtures" / "invalid"
CASES = sorted(p for p in INVALID.iterdir() if p.is_dir())

XFAIL: dict[str, str] = {}


def expected_stderr(folder: Path) -> str:
    text = (folder / "expected.txt").read_text(encoding="utf-8")
    return text.replace("{project}", str(folder.resolve()))


def _params() -> list:
    return [pytest.param(folder, id=folder.name,
                         marks=[pytest.mark.xfail(strict=True, reason=XFAIL[folder.name])]
                         if folder.name in XFAIL else [])
            for folder in CASES]


def test_every_case_has_expected_text_and_content():
    assert len(CASES) >= 25
    for folder in CASES:
        assert (folder / "expected.txt").is_file(), folder.name
    assert set(XFAIL) <= {folder.name for folder in CASES}


@pytest.mark.parametrize("folder", _params())
def test_invalid_content_message(folder: Path, capsys):
    code = main(["check", "-p", str(folder)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert code == 1
    assert out == ""
    assert err == expected_stderr(folder)


def test_console_script_exits_1_without_traceback():
    folder = INVALID / "many-errors-at-once"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run([sys.executable, "-m", "generator", "check", "-p", str(folder)],
                            capture_output=True, text=True, encoding="utf-8", env=env, timeout=60)
    assert "Traceback" not in result.stderr
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == expected_stderr(folder)

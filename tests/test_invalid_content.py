"""Every error message a user can meet in ``perfsite check``, pinned word for word.

Each folder in ``tests/fixtures/invalid/`` is a complete small project (the tiny site
with one defect, or several for ``many-errors-at-once``) and an ``expected.txt`` holding
the exact stderr. ``{project}`` in ``expected.txt`` stands for the absolute project path.
Cases in ``XFAIL`` pin the message we believe is right where the engine is wrong today.

Inputs too big to commit (files over 1 MiB, documents with too many values) are made
from the tiny site in ``tmp_path`` by ``GENERATED``; ``VALID_EDGE_CASES`` are odd but
valid encodings of the tiny site (BOM, CRLF, ...) that must check exactly like it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
INVALID = FIXTURES / "invalid"
TINY = FIXTURES / "tiny"
CASES = sorted(p for p in INVALID.iterdir() if p.is_dir())

XFAIL: dict[str, str] = {}

SUMMARY_1 = "perfsite: 1 problem in the content; nothing was changed\n"


def expected_stderr(folder: Path) -> str:
    text = (folder / "expected.txt").read_text(encoding="utf-8")
    return text.replace("{project}", str(folder.resolve()))


def _params() -> list:
    return [pytest.param(folder, id=folder.name,
                         marks=[pytest.mark.xfail(strict=True, reason=XFAIL[folder.name])]
                         if folder.name in XFAIL else [])
            for folder in CASES]


def run_check(project: Path, capsys) -> tuple[int, str, str]:
    code = main(["check", "-p", str(project)])
    out, err = capsys.readouterr()
    return code, out, err


def test_every_case_has_expected_text_and_content():
    assert len(CASES) >= 65
    for folder in CASES:
        assert (folder / "expected.txt").is_file(), folder.name
        assert (folder / "content").exists() or (folder / "contents").is_dir(), folder.name
    assert set(XFAIL) <= {folder.name for folder in CASES}


def test_cases_are_distinct():
    """No two folders pin the same stderr: each one is a different bad input."""
    seen: dict[str, str] = {}
    for folder in CASES:
        text = expected_stderr(folder)
        assert text not in seen, f"{folder.name} repeats {seen.get(text)}"
        seen[text] = folder.name


@pytest.mark.parametrize("folder", _params())
def test_invalid_content_message(folder: Path, capsys):
    code, out, err = run_check(folder, capsys)
    assert "Traceback" not in err
    assert code == 1
    assert out == ""
    assert err == expected_stderr(folder)


def _console(folder: Path, timeout: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "generator", "check", "-p", str(folder)],
                          capture_output=True, text=True, encoding="utf-8", env=env, timeout=timeout)


def test_console_script_exits_1_without_traceback():
    folder = INVALID / "many-errors-at-once"
    result = _console(folder, timeout=60)
    assert "Traceback" not in result.stderr
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == expected_stderr(folder)


def test_alias_bomb_finishes_fast_with_a_clear_message():
    """Billion laughs: 9 levels of 9 aliases would expand to 9**8 strings; the aliases are refused instead."""
    result = _console(INVALID / "alias-bomb", timeout=30)  # raises TimeoutExpired if it hangs
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[-1] == "perfsite: 72 problems in the content; nothing was changed"
    assert len(lines) == 73
    assert all(line.startswith("content/departments/beta/2021.yaml:") for line in lines[:-1])
    assert all(line.endswith(": anchors and aliases are not supported (write the value out in full)")
               for line in lines[:-1])


# --- generated inputs: too big to commit --------------------------------------------------


def tiny_copy(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(TINY / "content", project / "content")
    return project


def _append(rel: str, text: str) -> Callable[[Path], None]:
    def make(project: Path) -> None:
        with (project / rel).open("a", encoding="utf-8", newline="\n") as f:
            f.write(text)
    return make


def _oversized_functions(project: Path) -> None:
    path = project / "content/departments/alpha/2021.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("functions: 甲单位负责**测试**。", "functions: " + "职能" * (1024 * 1024 // 3)),
                    encoding="utf-8")


GENERATED: dict[str, tuple[Callable[[Path], None], str]] = {
    "oversized-form-2-mib": (
        _oversized_functions,
        "content/departments/alpha/2021.yaml: file too large: 2.0 MiB, limit 1 MiB\n" + SUMMARY_1),
    "oversized-site-yaml": (
        _append("content/site.yaml", "description: " + "说明" * (1024 * 1024 // 3) + "\n"),
        "content/site.yaml: file too large: 2.0 MiB, limit 1 MiB\n" + SUMMARY_1),
    "oversized-department-yaml": (
        _append("content/departments/beta/department.yaml", "note: " + "x" * (3 * 1024 * 1024) + "\n"),
        "content/departments/beta/department.yaml: file too large: 3.0 MiB, limit 1 MiB\n" + SUMMARY_1),
    "too-many-values": (
        _append("content/site.yaml", "extra:\n  big: [" + ", ".join(["0"] * 100_001) + "]\n"),
        "content/site.yaml:4:299994: extra.big[99995]: the document has more than 100000 values\n" + SUMMARY_1),
}


@pytest.mark.parametrize("name", list(GENERATED))
def test_generated_invalid_content_message(name: str, tmp_path, capsys):
    make, expected = GENERATED[name]
    project = tiny_copy(tmp_path)
    make(project)
    code, out, err = run_check(project, capsys)
    assert "Traceback" not in err
    assert code == 1
    assert out == ""
    assert err == expected


# --- valid edge cases: odd encodings of a valid site must check exactly like it ------------


def _each_yaml(transform: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def make(project: Path) -> None:
        for path in sorted((project / "content").rglob("*.yaml")):
            path.write_bytes(transform(path.read_bytes()))
    return make


def _exactly_one_mib(project: Path) -> None:
    path = project / "content/departments/alpha/2021.yaml"
    raw = path.read_bytes()
    pad = 1024 * 1024 - len(raw)
    path.write_bytes(raw.replace("**测试**。".encode(), "**测试**。".encode() + b"x" * pad))
    assert path.stat().st_size == 1024 * 1024


BOM = b"\xef\xbb\xbf"
VALID_EDGE_CASES: dict[str, Callable[[Path], None]] = {
    "utf8-bom": _each_yaml(lambda raw: BOM + raw),
    "crlf-line-endings": _each_yaml(lambda raw: raw.replace(b"\n", b"\r\n")),
    "bom-and-crlf": _each_yaml(lambda raw: BOM + raw.replace(b"\n", b"\r\n")),
    "cr-only-line-endings": _each_yaml(lambda raw: raw.replace(b"\n", b"\r")),
    "no-final-newline": _each_yaml(lambda raw: raw.rstrip(b"\n")),
    "document-end-marker": _each_yaml(lambda raw: raw + b"...\n"),
    "trailing-comment-lines": _each_yaml(lambda raw: raw + b"# \xe5\xa4\x87\xe6\xb3\xa8\n\n"),
    "file-of-exactly-1-mib": _exactly_one_mib,
}


@pytest.fixture(scope="module")
def tiny_json() -> str:
    result = subprocess.run([sys.executable, "-m", "generator", "check", "--format", "json", "-p", str(TINY)],
                            capture_output=True, text=True, encoding="utf-8", timeout=60,
                            env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("name", list(VALID_EDGE_CASES))
def test_valid_edge_case_passes(name: str, tmp_path, capsys, tiny_json):
    project = tiny_copy(tmp_path)
    VALID_EDGE_CASES[name](project)
    code = main(["check", "--format", "json", "-p", str(project)])
    out, err = capsys.readouterr()
    assert err == ""
    assert code == 0
    assert out == tiny_json  # same data, same findings, same lines

"""``perfsite check`` made department by department (:mod:`generator.score.check_all`) prints
exactly what checking the whole project at once printed — text and JSON — in one process and
in worker processes, and reports every problem of a broken project."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from generator.errors import ContentError
from generator.score import check_all
from generator.score.check import check_project
from generator.score.check_all import check_texts
from generator.score.report_text import format_check, format_checked_texts, format_form
from generator.site.export import check_document, dumps, form_json, form_to_dict


@pytest.fixture(params=[1, 2], ids=["one process", "worker processes"])
def jobs(request, monkeypatch) -> int:
    monkeypatch.setattr(check_all, "PROCESSES_FROM", 0)
    return request.param


@pytest.fixture
def sample_project(sample_project: Path) -> Path:
    """With a file nothing reads, so the content folder has a finding of its own."""
    (sample_project / "content" / "departments" / "demo-jiaoyu" / "2021.yaml.bak").write_text("x", encoding="utf-8")
    return sample_project


def test_json_is_the_whole_projects(sample_project: Path, jobs: int):
    site = check_project(sample_project)
    expected = dumps({"forms": [form_to_dict(f) for f in site.forms], "content": [f.as_dict() for f in site.notices]})
    checked = check_texts(sample_project, form_json, jobs)
    assert "".join(check_document(checked.texts(), [f.as_dict() for f in checked.notices])) == expected
    assert checked.counts == site.findings_by_severity() and checked.forms == len(site.forms) > 10
    assert site.notices and checked.notices == site.notices


@pytest.mark.parametrize("verbose", [False, True])
def test_text_is_the_whole_projects(sample_project: Path, jobs: int, verbose: bool):
    site = check_project(sample_project)
    checked = check_texts(sample_project, partial(format_form, colour=False, verbose=verbose), jobs)
    assert "".join(format_checked_texts(checked, 1.5, quiet=True)) == format_check(site, 1.5, quiet=True)
    assert "".join(format_checked_texts(checked, 1.5)) == format_check(site, 1.5, verbose=verbose)


def test_an_empty_list_and_content_notices_in_json():
    assert "".join(check_document([], [])) == dumps({"forms": [], "content": []})
    content = [{"file": "content/x.txt", "code": "unused-file", "severity": "info", "message": "未使用"}]
    two = ['{\n  "a": 1\n}', '{\n  "b": [\n    2\n  ]\n}']
    assert "".join(check_document(two, content)) == dumps({"forms": [{"a": 1}, {"b": [2]}], "content": content})


def test_every_problem_in_file_order(sample_project: Path, jobs: int):
    for slug in ("wangcheng-kexie", "demo-jiaoyu"):
        record = sample_project / f"content/departments/{slug}/2021.yaml"
        record.write_text(record.read_text(encoding="utf-8") + "mystery: 1\n", encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        check_texts(sample_project, form_json, jobs)
    assert [p.location.file for p in caught.value.problems] == [
        "content/departments/demo-jiaoyu/2021.yaml", "content/departments/wangcheng-kexie/2021.yaml"]

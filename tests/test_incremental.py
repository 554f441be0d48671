"""Incremental updates (serve, rebuilds) must give exactly what a clean build gives.

Each step edits the project like a user would, tells a long-lived SiteState which paths
changed, and compares its files with a fresh state's, byte for byte. It also checks
the update did less work than a full build where it should.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.serve.state import SiteState


def clean_files(project: Path) -> dict[str, bytes]:
    return SiteState(project).update().files


def assert_same_as_clean(state: SiteState, project: Path, changed: set[Path]):
    update = state.update(changed)
    clean = clean_files(project)
    assert sorted(update.files) == sorted(clean)
    different = [k for k in clean if update.files[k] != clean[k]]
    assert different == [], f"stale after {sorted(map(str, changed))}: {different}"
    return update


@pytest.fixture
def state_and_project(sample_project):
    state = SiteState(sample_project)
    state.update()
    return state, sample_project


def replace_in(path: Path, old: str, new: str) -> Path:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_record_edit_rerenders_only_what_shows_it(state_and_project):
    state, project = state_and_project
    record = replace_in(project / "content/departments/demo-jiaoyu/2022.yaml", "units: ", "units: 1")
    update = assert_same_as_clean(state, project, {record})
    rendered = set(update.rendered)
    assert "departments/demo-jiaoyu/2022/index.html" in rendered
    assert "departments/demo-jiaoyu/index.html" in rendered
    assert {"index.html", "2022/index.html", "quality/index.html"} <= rendered
    assert not any(p.startswith("departments/demo-weisheng/") for p in rendered)
    assert len(rendered) < update.pages / 2


def test_sequence_of_edits_matches_clean_builds(state_and_project):
    state, project = state_and_project
    content = project / "content"
    departments = content / "departments"
    override = project / "overrides/templates/form.html"

    def edit_number():
        return {replace_in(departments / "wangcheng-kexie/2021.yaml", "reported: {total: 94.52}",
                           "reported: {total: 87.95}")}

    def add_template_override():
        override.parent.mkdir(parents=True)
        override.write_text('{% extends "!theme/form.html" %}{% block content %}<p>OVR</p>{{ super() }}'
                            '{% endblock %}', encoding="utf-8")
        return {override}

    def edit_template_override():
        return {replace_in(override, "<p>OVR</p>", "<p>OVR2</p>")}

    def add_static_override():
        css = project / "overrides/static/extra.css"
        css.parent.mkdir(parents=True)
        css.write_text("body{}", encoding="utf-8")
        return {css}

    def change_profile():
        return {replace_in(content / "site.yaml", "profile: deviation", "profile: national")}

    def delete_record():
        gone = departments / "demo-shuili/2023.yaml"
        gone.unlink()
        return {gone}

    def rename_department():
        old, new = departments / "demo-huanbao", departments / "demo-shengtai"
        shutil.move(old, new)
        return {old, new} | set(new.iterdir())

    def rename_department_name():
        return {replace_in(departments / "demo-shengtai/department.yaml", "示例市", "样例市")}

    def add_year():
        added = departments / "demo-jiaoyu/2024.yaml"
        added.write_text((departments / "demo-jiaoyu/2023.yaml").read_text(encoding="utf-8")
                         .replace("year: 2023", "year: 2024"), encoding="utf-8")
        return {added}

    def switch_language():
        return {replace_in(content / "site.yaml", "language: zh-CN", "language: en")}

    def write_override(rel: str, text: str):
        path = project / "overrides" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return {path}

    def add_strings_override():
        return write_override("strings/zh-CN.yaml", "findings: 审计发现甲\n")

    def edit_strings_override():
        return write_override("strings/zh-CN.yaml", "findings: 审计发现乙\n")

    def add_glossary_override():
        return write_override("glossary.yaml", "- {zh: 术语甲, en: Term A, meaning_zh: 释义, meaning_en: meaning}\n")

    def edit_glossary_override():
        return write_override("glossary.yaml", "- {zh: 术语乙, en: Term B, meaning_zh: 释义, meaning_en: meaning}\n")

    def add_english_strings_override():
        return write_override("strings/en.yaml", "findings: Findings B\n")

    for step in (edit_number, add_template_override, edit_template_override, add_static_override,
                 change_profile, delete_record, rename_department, rename_department_name, add_year,
                 add_strings_override, edit_strings_override, add_glossary_override, edit_glossary_override,
                 switch_language, add_english_strings_override):
        assert_same_as_clean(state, project, step())
    files = state.update(set()).files
    assert b"Findings B" in files["departments/demo-jiaoyu/2024/index.html"]
    assert b"Term B" in files["glossary/index.html"]


def test_no_change_renders_nothing(state_and_project):
    state, project = state_and_project
    update = state.update(set())
    assert update.rendered == []
    assert update.files == clean_files(project)

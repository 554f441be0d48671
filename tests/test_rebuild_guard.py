"""Correctness guard for repeated builds: after every edit, ``perfsite build`` into the same
folder (which may skip work when nothing changed) equals a clean build byte for byte."""

from __future__ import annotations

import shutil

from conftest import tree_bytes

from generator.build import build


def replace_in(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_builds_after_each_edit_equal_clean_builds(sample_project, tmp_path):
    content = sample_project / "content"
    departments = content / "departments"
    site = sample_project / "site"

    def edit_record():
        replace_in(departments / "wangcheng-kexie/2021.yaml", "reported: {total: 94.52}", "reported: {total: 88}")

    def edit_template():
        override = sample_project / "overrides/templates/404.html"
        override.parent.mkdir(parents=True, exist_ok=True)
        override.write_text('{% extends "!theme/404.html" %}{% block content %}<p>v2</p>{% endblock %}',
                            encoding="utf-8")

    def edit_profile():
        replace_in(content / "site.yaml", "profile: deviation", "profile: national")

    def edit_config():
        replace_in(content / "site.yaml", "language: zh-CN", "language: en")

    def delete_record():
        (departments / "demo-shuili/2022.yaml").unlink()

    def rename_department():
        shutil.move(departments / "demo-wenlv", departments / "demo-wenhua")

    def nothing():
        pass

    assert build(sample_project).site is not None
    for step, edit in enumerate((nothing, edit_record, edit_template, edit_profile, edit_config, delete_record,
                                 rename_department, nothing)):
        edit()
        build(sample_project)
        clean = build(sample_project, tmp_path / f"clean-{step}", force=True)
        assert clean.site is not None
        assert tree_bytes(site) == tree_bytes(clean.out_dir), f"step {step} ({edit.__name__}) left a stale site"

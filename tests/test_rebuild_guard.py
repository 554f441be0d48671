"""Correctness guard for repeated builds: after every edit, ``perfsite build`` into the same
folder (which rebuilds only the departments that changed, or nothing) equals a clean build
byte for byte — and really did reuse what it could."""

from __future__ import annotations

import shutil

from conftest import tree_bytes

from generator.build.run import build


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

    departments_count = len(list(departments.iterdir()))
    assert build(sample_project).rebuilt == departments_count
    steps = ((nothing, None), (edit_record, 1), (edit_template, 0), (edit_profile, departments_count),
             (edit_config, departments_count), (delete_record, 1), (rename_department, 1), (nothing, None))
    for step, (edit, rebuilt) in enumerate(steps):
        edit()
        result = build(sample_project)
        if rebuilt is None:
            assert result.site is None, f"step {step} ({edit.__name__}) rebuilt an up-to-date site"
        else:
            assert result.rebuilt == rebuilt, f"step {step} ({edit.__name__}) rebuilt {result.rebuilt} departments"
        clean = build(sample_project, tmp_path / f"clean-{step}", force=True)
        assert clean.site is not None
        assert tree_bytes(site) == tree_bytes(clean.out_dir), f"step {step} ({edit.__name__}) left a stale site"

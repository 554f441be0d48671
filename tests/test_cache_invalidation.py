"""Every input a page depends on, edited between two builds into the same folder with the
cache kept: the second build must equal a clean build (``--force``, another folder) byte for
byte. Each case also checks that its edit reached the site, so a case whose edit changes
nothing cannot pass by accident.

There is no layout file in this project (the form's layout is code), so no case for one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import tree_bytes
from test_rebuild_guard import replace_in

from generator.build.run import build

FORM = "departments/alpha/2022/index.html"
GLOSSARY_ROW = "- {{zh: {zh}, en: {en}, meaning_zh: 释义, meaning_en: meaning}}\n"


def write(project: Path, rel: str, text: str) -> None:
    path = project / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def extends(name: str, mark: str, block: str = "content") -> str:
    """An override of a theme template that adds ``mark`` to what the theme renders."""
    element = f'<meta name="x-mark" content="{mark}">' if block == "meta" else f"<p>{mark}</p>"
    return f'{{% extends "!theme/{name}" %}}{{% block {block} %}}{element}{{{{ super() }}}}{{% endblock %}}\n'


def site_yaml(old: str, new: str) -> Callable[[Path], None]:
    return lambda project: replace_in(project / "content/site.yaml", old, new)


def add_to_site_yaml(line: str) -> Callable[[Path], None]:
    return site_yaml("profile: national", f"profile: national\n{line}")


def writes(rel: str, text: str) -> Callable[[Path], None]:
    return lambda project: write(project, rel, text)


def removes(rel: str) -> Callable[[Path], None]:
    return lambda project: (project / rel).unlink()


def nothing(project: Path) -> None:
    pass


@dataclass(frozen=True)
class Case:
    setup: Callable[[Path], None]  # before the first build
    edit: Callable[[Path], None]   # between the two builds
    page: str                      # a file the edit must change ...
    shows: str                     # ... so that it holds this text afterwards


# Edits keep a file's size where they can: a cache that trusted size and mtime alone would miss them.
CASES = {
    "strings-zh-CN-edited": Case(writes("overrides/strings/zh-CN.yaml", "findings: 审计发现甲\n"),
                                 writes("overrides/strings/zh-CN.yaml", "findings: 审计发现乙\n"), FORM, "审计发现乙"),
    "strings-zh-CN-added": Case(nothing, writes("overrides/strings/zh-CN.yaml", "findings: 审计发现乙\n"),
                                FORM, "审计发现乙"),
    "strings-zh-CN-removed": Case(writes("overrides/strings/zh-CN.yaml", "findings: 审计发现乙\n"),
                                  removes("overrides/strings/zh-CN.yaml"), FORM, "审核发现"),
    "strings-en-edited": Case(lambda p: (add_to_site_yaml("language: en")(p),
                                         write(p, "overrides/strings/en.yaml", "findings: Findings A\n")),
                              writes("overrides/strings/en.yaml", "findings: Findings B\n"), FORM, "Findings B"),
    "glossary-edited": Case(writes("overrides/glossary.yaml", GLOSSARY_ROW.format(zh="术语甲", en="Term A")),
                            writes("overrides/glossary.yaml", GLOSSARY_ROW.format(zh="术语乙", en="Term B")),
                            "glossary/index.html", "术语乙"),
    "glossary-added": Case(nothing, writes("overrides/glossary.yaml", GLOSSARY_ROW.format(zh="术语乙", en="Term B")),
                           "glossary/index.html", "Term B"),
    "glossary-removed": Case(writes("overrides/glossary.yaml", GLOSSARY_ROW.format(zh="术语乙", en="Term B")),
                             removes("overrides/glossary.yaml"), "glossary/index.html", "部门整体支出绩效自评表"),
    "static-edited": Case(writes("overrides/static/style.css", "/* v1 */\n"),
                          writes("overrides/static/style.css", "/* v2 */\n"), "assets/style.css", "/* v2 */"),
    "static-added": Case(nothing, writes("overrides/static/extra.css", "/* extra */\n"), "assets/extra.css", "extra"),
    "static-removed": Case(writes("overrides/static/style.css", "/* v1 */\n"), removes("overrides/static/style.css"),
                           "assets/style.css", "{"),
    "template-form-edited": Case(writes("overrides/templates/form.html", extends("form.html", "FORM-V1")),
                                 writes("overrides/templates/form.html", extends("form.html", "FORM-V2")),
                                 FORM, "FORM-V2"),
    "template-form-added": Case(nothing, writes("overrides/templates/form.html", extends("form.html", "FORM-V2")),
                                FORM, "FORM-V2"),
    "template-form-removed": Case(writes("overrides/templates/form.html", extends("form.html", "FORM-V1")),
                                  removes("overrides/templates/form.html"), FORM, 'id="findings"'),
    "template-base-edited": Case(writes("overrides/templates/base.html", extends("base.html", "BASE-V1", "meta")),
                                 writes("overrides/templates/base.html", extends("base.html", "BASE-V2", "meta")),
                                 FORM, "BASE-V2"),
    "template-index-edited": Case(writes("overrides/templates/index.html", extends("index.html", "INDEX-V1")),
                                  writes("overrides/templates/index.html", extends("index.html", "INDEX-V2")),
                                  "index.html", "INDEX-V2"),
    "profile": Case(nothing, site_yaml("profile: national", "profile: step-bands"), FORM, "分档计分规则"),
    # alpha 2022: 50 × 50/60 = 41.666… → 41.67 half up, 41.66 truncated; total 85.67 → 85.66
    "profile-options-added": Case(nothing, add_to_site_yaml("profile_options: {rounding: {mode: truncate}}"),
                                  FORM, "85.66"),
    "profile-options-edited": Case(add_to_site_yaml("profile_options: {rounding: {mode: half_even}}"),
                                   site_yaml("mode: half_even", "mode: truncate"), FORM, "85.66"),
    "site-title": Case(nothing, site_yaml("title: 测试站点", "title: 测试网站"), FORM, "测试网站"),
    "site-language": Case(nothing, add_to_site_yaml("language: en"), FORM, '<html lang="en">'),
    "site-description": Case(add_to_site_yaml("description: 说明甲"), site_yaml("说明甲", "说明乙"),
                             "index.html", "说明乙"),
    "site-base-url": Case(nothing, add_to_site_yaml("base_url: https://example.org/perf"), "feed.xml",
                          "https://example.org/perf/departments/alpha/2022/"),
}


@pytest.mark.parametrize("name", list(CASES), ids=list(CASES))
def test_build_after_an_edit_equals_a_clean_build(tiny_project, tmp_path, name):
    case = CASES[name]
    case.setup(tiny_project)
    site = build(tiny_project).out_dir
    before = tree_bytes(site)

    case.edit(tiny_project)
    assert build(tiny_project).site is not None, f"{name}: the build after the edit said nothing changed"
    after = tree_bytes(site)
    clean = tree_bytes(build(tiny_project, tmp_path / "clean", force=True).out_dir)

    assert after.get(case.page) != before.get(case.page), f"{name}: the edit did not reach {case.page}"
    assert case.shows in clean[case.page].decode("utf-8"), f"{name}: {case.shows!r} not in {case.page}"
    stale = sorted(rel for rel in set(after) | set(clean) if after.get(rel) != clean.get(rel))
    assert stale == [], f"{name}: the incremental build left {len(stale)} stale file(s): {stale[:10]}"

"""The shared stamp: every input that all pages depend on changes it, and nothing else does.

The build cache reuses a department's pages while this stamp (and its folder) is unchanged,
so an input missing from it leaves pages stale the day a page starts to use that input. The
end-to-end guard is tests/test_cache_invalidation.py; this one pins the key itself, input by
input, including those no department page shows today (the glossary).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from generator.build.stamps import input_stamp, shared_stamp
from generator.read.config import load_config
from generator.site.render import asset_files
from generator.site.theme import load_theme


@pytest.fixture
def inputs(tiny_project):
    config = load_config(tiny_project)
    theme = load_theme(config)
    _assets, static = asset_files(theme)
    return config, theme, static


def test_the_same_inputs_give_the_same_stamp(inputs):
    config, theme, static = inputs
    assert shared_stamp(config, theme, static, [2022, 2021]) == shared_stamp(config, theme, dict(static), [2022, 2021])


@pytest.mark.parametrize("change", ["strings", "glossary", "static", "years", "site.yaml"])
def test_each_shared_input_changes_the_stamp(inputs, change):
    config, theme, static = inputs
    years = [2022, 2021]
    before = shared_stamp(config, theme, static, years)
    if change == "strings":
        theme = replace(theme, strings={**theme.strings, "total": theme.strings["total"] + "!"})
    elif change == "glossary":
        term = {"zh": "新词", "en": "new", "meaning_zh": "", "meaning_en": ""}
        theme = replace(theme, glossary=(*theme.glossary, term))
    elif change == "static":
        static = {**static, "assets/style.css": static.get("assets/style.css", b"") + b"/* edited */"}
    elif change == "years":
        years = [2023, 2022, 2021]
    else:
        site_yaml = config.project_dir / "content" / "site.yaml"
        site_yaml.write_text(site_yaml.read_text(encoding="utf-8") + "description: 新的说明\n", encoding="utf-8")
    assert shared_stamp(config, theme, static, years) != before


def test_a_watched_stamp_restamps_only_the_folders_named_and_equals_a_full_one(tiny_project):
    """``perfsite build --watch`` stamps again only the department folders the watcher named;
    when it named them rightly, the stamp is the one a full walk takes."""
    out = tiny_project / "site"
    departments = tiny_project / "content/departments"
    kept: dict[str, str] = {}
    first = input_stamp(tiny_project, out, kept)
    assert first == input_stamp(tiny_project, out) and set(kept) == {p.name for p in departments.iterdir()}
    folder = sorted(p for p in departments.iterdir())[0]
    record = sorted(folder.glob("20*.yaml"))[0]
    record.write_text(record.read_text(encoding="utf-8") + "\n# 改过\n", encoding="utf-8")
    assert input_stamp(tiny_project, out, dict(kept), named=set()) == first  # told nothing changed: not walked
    edited = input_stamp(tiny_project, out, kept, named={folder.name})
    assert edited != first and edited == input_stamp(tiny_project, out)
    (folder / "notes.txt").write_text("备忘\n", encoding="utf-8")  # a file added to a named folder
    assert input_stamp(tiny_project, out, kept, named={folder.name}) == input_stamp(tiny_project, out)


@pytest.mark.parametrize("change", ["stray file in departments", "site.yaml", "theme override", "out dir"])
def test_every_input_outside_the_department_folders_changes_the_input_stamp(tiny_project, change):
    out = tiny_project / "site"
    before = input_stamp(tiny_project, out)
    if change == "stray file in departments":
        (tiny_project / "content/departments/README.txt").write_text("说明\n", encoding="utf-8")
    elif change == "site.yaml":
        site_yaml = tiny_project / "content/site.yaml"
        site_yaml.write_text(site_yaml.read_text(encoding="utf-8") + "\n# 改过\n", encoding="utf-8")
    elif change == "theme override":
        override = tiny_project / "overrides/templates/form.html"
        override.parent.mkdir(parents=True)
        override.write_text("{% extends '!theme/form.html' %}", encoding="utf-8")
    else:
        out = tiny_project / "elsewhere"
    assert input_stamp(tiny_project, out) != before


def test_a_departments_years_come_from_its_stamp_part_only_while_it_is_the_same_record():
    """The years a department has forms in, read from what the year stamps kept of it (no form
    touched), but only for that very record: a kept part of an earlier record is not used."""
    from types import SimpleNamespace as Obj

    from generator.build.stamps import department_years, year_stamps

    def form(year):
        return Obj(report=Obj(year=year))

    meta = Obj(slug="a", key="k", inputs=(("2021.yaml", 1), ("2023.yaml", 2)), forms=(form(2023), form(2021)))
    memo: dict = {}
    year_stamps([meta], ("env",), memo)
    assert department_years(meta) == department_years(meta, memo) == [2021, 2023]
    memo["a"] = (meta, [(2021, b""), (2022, b"")])  # as kept: read from here, not from the forms
    assert department_years(meta, memo) == [2021, 2022]
    edited = Obj(**{**vars(meta), "forms": (form(2024),)})
    assert department_years(edited, memo) == [2024]  # another record: its own forms

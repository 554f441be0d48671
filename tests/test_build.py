"""``perfsite build``: the files it writes, determinism, atomic output, themes, escaping.

Every test builds a scratch copy of a project (fixtures in conftest.py), so nothing here
touches the repository's content or its ``site/`` folder.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import html
import io
import json
import os
import re
import shutil
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import plotly
import pytest
import yaml

from generator.build.output import MARKER, STANDBY_TAG, TMP_TAG
from generator.build.run import build
from generator.cli import main
from generator.errors import ThemeError
from generator.site.opendata import INDICATOR_COLUMNS, REPORT_COLUMNS

REPO = Path(__file__).resolve().parent.parent
STRINGS = REPO / "themes" / "default" / "strings"
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
BOM = b"\xef\xbb\xbf"


# ---------------------------------------------------------------- helpers


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by its relative POSIX path."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def forms_of(project: Path) -> list[tuple[str, int]]:
    """(slug, year) of every department-wide form record (``<year>.yaml``) in the project's content."""
    return sorted((p.parent.name, int(p.stem)) for p in (project / "content" / "departments").glob("*/*.yaml")
                  if p.stem.isdigit())


FORM_FILE = re.compile(r"([0-9]{4})(?:-([a-z0-9-]+))?")


def form_keys(project: Path) -> list[tuple[str, int, str]]:
    """(slug, year, project id) of every form record: ``<year>.yaml`` (project id "") and
    ``<year>-<project>.yaml``."""
    keys = []
    for p in (project / "content" / "departments").glob("*/*.yaml"):
        match = FORM_FILE.fullmatch(p.stem)
        if match:
            keys.append((p.parent.name, int(match.group(1)), match.group(2) or ""))
    return sorted(keys)


def form_file(year: int, project_id: str) -> str:
    """A form's file name without the extension, as its record and its downloads are named."""
    return f"{year}-{project_id}" if project_id else str(year)


def html_pages(site: Path) -> dict[str, str]:
    return {p.relative_to(site).as_posix(): p.read_text(encoding="utf-8") for p in sorted(site.rglob("*.html"))}


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def set_site_option(project: Path, line: str) -> None:
    site_yaml = project / "content" / "site.yaml"
    site_yaml.write_text(site_yaml.read_text(encoding="utf-8").rstrip("\n") + "\n" + line + "\n", encoding="utf-8")


def leftovers(out: Path) -> list[Path]:
    return sorted(out.parent.glob(f"*{TMP_TAG}*"))


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---------------------------------------------------------------- what a build writes


def test_cli_build_writes_every_expected_file(tiny_project, capsys):
    code, out, err = run_cli(capsys, "build", "-p", str(tiny_project))
    assert code == 0, err
    assert "built" in out
    site = tiny_project / "site"
    forms = forms_of(tiny_project)
    assert forms == [("alpha", 2021), ("alpha", 2022), ("beta", 2021)]
    # no base_url in the tiny site: no sitemap.xml (the protocol needs absolute URLs)
    expected = {"index.html", "departments/index.html", "quality/index.html", "404.html",
                "feed.xml", "robots.txt", "data/datapackage.json", MARKER}  # each year's bulk files, not all years
    for year in {year for _, year in forms}:
        expected |= {f"data/by-year/{year}/{name}" for name in ("reports.json", "reports.csv", "indicators.csv")}
    for slug, year in forms:
        expected |= {f"{year}/index.html", f"quality/{year}/index.html", f"departments/{slug}/index.html",
                     f"departments/{slug}/{year}/index.html",
                     f"data/{slug}/{year}.csv", f"data/{slug}/{year}.yaml"}  # its JSON: in the year's file
    written = set(tree(site))
    assert expected <= written, sorted(expected - written)
    # the search page and its offline index (Pagefind)
    assert "search/index.html" in written
    assert "pagefind/pagefind-ui.js" in written and any(p.startswith("pagefind/fragment/") for p in written)
    # nothing but those and the theme's assets
    assert {p for p in written - expected - {"search/index.html", "glossary/index.html"}
            if not p.startswith(("assets/", "pagefind/"))} == set()


def test_cli_build_says_how_many_departments_it_rebuilt(tiny_project, capsys):
    code, out, _ = run_cli(capsys, "build", "-p", str(tiny_project))
    assert code == 0 and "departments rebuilt" not in out  # the first build makes every one
    record = tiny_project / "content/departments/beta/2021.yaml"
    record.write_text(record.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    code, out, _ = run_cli(capsys, "build", "-p", str(tiny_project))
    assert code == 0 and "(1 of 2 departments rebuilt, the others unchanged)" in out, out


def test_plotly_bundle_is_local_hashed_and_unmodified(tiny_project):
    site = build(tiny_project).out_dir
    bundles = sorted((site / "assets").glob("plotly.*.min.js"))
    assert len(bundles) == 1, bundles
    data = bundles[0].read_bytes()
    match = re.fullmatch(r"plotly\.([0-9a-f]{12})\.min\.js", bundles[0].name)
    assert match, bundles[0].name
    assert match.group(1) == hashlib.sha256(data).hexdigest()[:12]
    assert data == (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()


def test_no_cdn_and_every_script_and_stylesheet_is_local(tiny_project):
    site = build(tiny_project).out_dir
    files = tree(site)
    for rel, data in files.items():
        if re.fullmatch(r"assets/plotly\.[0-9a-f]{12}\.min\.js", rel):
            continue  # the library's own (unused) defaults for map tiles and topojson
        assert b"cdn." not in data, rel
    for rel, text in html_pages(site).items():
        refs = re.findall(r"<script\b[^>]*\bsrc=\"([^\"]*)\"", text)
        refs += re.findall(r"<link\b[^>]*\bhref=\"([^\"]*)\"", text)
        assert refs, rel
        for ref in refs:
            if rel == "404.html" and ref == "data:,":
                continue  # the 404 page's empty icon: it must not depend on its depth
            assert not re.match(r"(?i)(https?:)?//", ref), (rel, ref)
            target = (site / rel).parent / ref
            assert target.resolve().is_file(), (rel, ref)
        assert "cdn." not in text
        assert not re.search(r"<script\b[^>]*\bsrc=\"https?://", text), rel
    # the chart pages load the hashed bundle
    assert "assets/plotly." in (site / "departments/alpha/2021/index.html").read_text(encoding="utf-8")


# ---------------------------------------------------------------- determinism


def test_build_is_byte_for_byte_deterministic(sample_project, tmp_path):
    other_project = tmp_path / "elsewhere" / "copy"
    shutil.copytree(sample_project / "content", other_project / "content")
    first = build(sample_project, tmp_path / "out-one").out_dir
    second = build(other_project, tmp_path / "out-two").out_dir
    one, two = tree(first), tree(second)
    assert sorted(one) == sorted(two)
    differing = [rel for rel in one if one[rel] != two[rel]]
    assert differing == []
    # no absolute paths of the project or output leak into the output
    for data in one.values():
        assert str(sample_project).encode() not in data
        assert str(tmp_path).encode() not in data


def test_rebuild_into_same_folder_is_identical(tiny_project):
    site = build(tiny_project).out_dir
    before = tree(site)
    build(tiny_project)
    assert tree(site) == before


# ---------------------------------------------------------------- atomic output


def test_failed_render_leaves_previous_site_untouched(tiny_project, capsys):
    site = build(tiny_project).out_dir
    before = tree(site)
    write(tiny_project / "overrides" / "templates" / "form.html",
          '{% extends "base.html" %}\n{% block content %}\n{{ no_such_variable }}\n{% endblock %}\n')

    with pytest.raises(ThemeError, match=r"form\.html:3"):
        build(tiny_project)
    code, _, err = run_cli(capsys, "build", "-p", str(tiny_project))
    assert code == 1
    assert "overrides/templates/form.html:3" in err.replace("\\", "/")
    assert "no_such_variable" in err
    assert "Traceback" not in err

    assert tree(site) == before
    assert leftovers(site) == []


def test_failed_write_leaves_previous_site_untouched(tiny_project, monkeypatch, capsys):
    """The disk fills up while a page of the new site is written (not a cache file)."""
    site = build(tiny_project).out_dir
    before = tree(site)
    set_site_option(tiny_project, "description: changed")  # the new build would differ

    real_write = os.write
    failed = []

    def failing_write(fd, data):
        path = os.readlink(f"/proc/self/fd/{fd}")
        if STANDBY_TAG in path and path.endswith(".html") and not failed:
            failed.append(path)
            raise OSError(errno.ENOSPC, "No space left on device (simulated)")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", failing_write)
    code, _, err = run_cli(capsys, "build", "-p", str(tiny_project))
    monkeypatch.undo()

    assert code == 1 and len(failed) == 1
    assert f"{failed[0]}: No space left on device (simulated)" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert tree(site) == before
    assert leftovers(site) == []


def test_leftover_of_a_killed_build_is_removed(tiny_project):
    stale = tiny_project / f".site{TMP_TAG}99999"
    write(stale / "index.html", "half a site")
    site = build(tiny_project).out_dir
    assert not stale.exists()
    assert leftovers(site) == []
    assert (site / MARKER).is_file()


def test_rebuild_replaces_the_whole_folder(tiny_project):
    site = build(tiny_project).out_dir
    write(site / "stale.html", "from an older build")
    shutil.rmtree(tiny_project / "content" / "departments" / "beta")
    build(tiny_project)
    assert not (site / "stale.html").exists()
    assert not (site / "departments" / "beta").exists()
    assert not (site / "data" / "beta").exists()


# ---------------------------------------------------------------- refusing to overwrite


def test_refuses_non_empty_folder_without_marker(tiny_project, tmp_path, capsys):
    out = tmp_path / "precious"
    write(out / "keep.txt", "not written by perfsite")
    write(out / "sub" / "more.txt", "also mine")
    before = tree(out)
    code, _, err = run_cli(capsys, "build", "-p", str(tiny_project), "-o", str(out))
    assert code == 1
    assert "refusing to overwrite" in err
    assert tree(out) == before
    assert leftovers(out) == []


def test_empty_existing_folder_is_fine(tiny_project, tmp_path, capsys):
    out = tmp_path / "empty"
    out.mkdir()
    code, _, err = run_cli(capsys, "build", "-p", str(tiny_project), "-o", str(out))
    assert code == 0, err
    assert (out / "index.html").is_file()
    assert (out / MARKER).is_file()


def test_folder_with_marker_is_rebuilt(tiny_project, tmp_path, capsys):
    out = tmp_path / "public"
    assert run_cli(capsys, "build", "-p", str(tiny_project), "-o", str(out))[0] == 0
    assert run_cli(capsys, "build", "-p", str(tiny_project), "-o", str(out))[0] == 0
    assert (out / "index.html").is_file()


@pytest.mark.parametrize("target", ["content", ".", "content/departments", "content/departments/alpha", ".."])
def test_refuses_content_or_project_folder(tiny_project, capsys, target):
    before = tree(tiny_project)
    code, _, err = run_cli(capsys, "build", "-p", str(tiny_project), "-o", str(tiny_project / target))
    assert code == 1
    assert "content folder" in err
    assert tree(tiny_project) == before


def test_refuses_a_file_as_output(tiny_project, tmp_path, capsys):
    out = tmp_path / "site.html"
    out.write_text("a file", encoding="utf-8")
    code, _, err = run_cli(capsys, "build", "-p", str(tiny_project), "-o", str(out))
    assert code == 1
    assert "not a folder" in err
    assert out.read_text(encoding="utf-8") == "a file"


# ---------------------------------------------------------------- theme overrides


def test_override_replaces_theme_404(tiny_project):
    write(tiny_project / "overrides" / "templates" / "404.html", "<!DOCTYPE html><p>SITE-LOCAL-404</p>\n")
    site = build(tiny_project).out_dir
    assert (site / "404.html").read_text(encoding="utf-8") == "<!DOCTYPE html><p>SITE-LOCAL-404</p>\n"
    assert "SITE-LOCAL-404" not in (site / "index.html").read_text(encoding="utf-8")


def test_override_can_extend_the_template_it_replaces(tiny_project):
    plain = tree(build(tiny_project, tiny_project / "plain").out_dir)
    write(tiny_project / "overrides" / "templates" / "form.html",
          '{% extends "!theme/form.html" %}{% block content %}OVERRIDE-MARK{{ super() }}{% endblock %}\n')
    site = build(tiny_project).out_dir
    for slug, year in forms_of(tiny_project):
        text = (site / f"departments/{slug}/{year}/index.html").read_text(encoding="utf-8")
        original = plain[f"departments/{slug}/{year}/index.html"].decode("utf-8")
        assert text.count("OVERRIDE-MARK") == 1
        assert 'id="form-title"' in text and 'id="indicators"' in text and 'id="findings"' in text
        assert text.replace("OVERRIDE-MARK", "") == original
    assert "OVERRIDE-MARK" not in (site / "index.html").read_text(encoding="utf-8")


def test_override_static_file_wins(tiny_project):
    write(tiny_project / "overrides" / "static" / "style.css", "/* SITE-LOCAL-CSS */\n")
    write(tiny_project / "overrides" / "static" / "extra.css", "/* extra */\n")
    site = build(tiny_project).out_dir
    assert (site / "assets" / "style.css").read_text(encoding="utf-8") == "/* SITE-LOCAL-CSS */\n"
    assert (site / "assets" / "extra.css").is_file()
    theme_js = (REPO / "themes" / "default" / "static" / "site.js").read_bytes()
    assert (site / "assets" / "site.js").read_bytes() == theme_js


def test_template_typo_names_file_and_line(tiny_project):
    write(tiny_project / "overrides" / "templates" / "404.html",
          '{% extends "base.html" %}\n{% block content %}\n<h1>{{ t.not_fuond }}</h1>\n{% endblock %}\n')
    with pytest.raises(ThemeError) as info:
        build(tiny_project)
    message = str(info.value).replace("\\", "/")
    assert "overrides/templates/404.html:3" in message
    assert "not_fuond" in message
    assert not (tiny_project / "site").exists()


def test_template_syntax_error_names_file_and_line(tiny_project, capsys):
    write(tiny_project / "overrides" / "templates" / "quality.html",
          '{% extends "base.html" %}\n{% block content %}\n\n{% if %}\n{% endblock %}\n')
    code, _, err = run_cli(capsys, "build", "-p", str(tiny_project))
    assert code == 1
    assert "quality.html:4" in err
    assert "Traceback" not in err


def test_arithmetic_error_in_template_is_reported_with_file_and_line(tiny_project, capsys):
    write(tiny_project / "overrides" / "templates" / "404.html",
          '{% extends "base.html" %}\n{% block content %}\n{{ 1 // 0 }}\n{% endblock %}\n')
    code, _, err = run_cli(capsys, "build", "-p", str(tiny_project))
    assert code == 1
    assert "404.html:3" in err


# ---------------------------------------------------------------- language


def test_default_language_is_chinese(tiny_project):
    site = build(tiny_project).out_dir
    for rel, text in html_pages(site).items():
        assert '<html lang="zh-CN">' in text, rel
    form = (site / "departments/alpha/2021/index.html").read_text(encoding="utf-8")
    assert "Audit findings" not in form


def test_english_switch(tiny_project):
    set_site_option(tiny_project, "language: en")
    site = build(tiny_project).out_dir
    for rel, text in html_pages(site).items():
        assert '<html lang="en">' in text, rel
    english = yaml.safe_load((STRINGS / "en.yaml").read_text(encoding="utf-8"))
    chinese = yaml.safe_load((STRINGS / "zh-CN.yaml").read_text(encoding="utf-8"))
    form = (site / "departments/alpha/2021/index.html").read_text(encoding="utf-8")
    assert english["findings"] == "Audit findings"
    assert "Audit findings" in form
    assert chinese["findings"] not in form


CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")


def finding_messages(page: str) -> list[str]:
    """The sentence under the title in every row of the findings tables on a page."""
    rows = re.findall(r'<tr class="finding [^"]*">(.*?)</tr>', page, re.S)
    return [html.unescape(re.search(r'<strong class="finding-title">.*?</strong><br>(.*?)</td>', row, re.S).group(1))
            for row in rows]


def test_english_pages_show_english_finding_messages(tiny_project):
    """alpha 2022's 成本控制 misses its target (60万元 spent for 50万元) and gives no reason."""
    set_site_option(tiny_project, "language: en")
    site = build(tiny_project).out_dir
    english = "“成本控制”: target missed, but no reason given."
    chinese = "“成本控制”未达成目标，但没有填写未完成原因。"
    page = (site / "departments/alpha/2022/index.html").read_text(encoding="utf-8")
    messages = finding_messages(page)
    assert english in messages, messages
    assert chinese not in page
    for message in messages:  # record text is quoted “…” and may be Chinese; the sentence may not
        assert not CJK.search(re.sub(r"“[^”]*”", "", message)), message
    quality = (site / "quality/2022/index.html").read_text(encoding="utf-8")
    assert "No reason given for a missed target" in quality and "未说明未完成原因" not in quality
    site_yaml = tiny_project / "content/site.yaml"
    site_yaml.write_text(site_yaml.read_text(encoding="utf-8").replace("language: en", "language: zh-CN"),
                         encoding="utf-8")
    out = build(tiny_project).out_dir
    assert chinese in finding_messages((out / "departments/alpha/2022/index.html").read_text(encoding="utf-8"))
    assert "未说明未完成原因" in (out / "quality/2022/index.html").read_text(encoding="utf-8")


def glossary_rows(site: Path) -> list[tuple[str, str, str]]:
    page = (site / "glossary/index.html").read_text(encoding="utf-8")
    rows = re.findall(r'<tr><th scope="row" lang="zh-CN">(.*?)</th><td lang="en">(.*?)</td><td>(.*?)</td></tr>', page)
    return [tuple(html.unescape(cell) for cell in row) for row in rows]


def test_glossary_page_rows_come_from_glossary_yaml(tiny_project):
    theme_terms = yaml.safe_load((REPO / "themes/default/glossary.yaml").read_text(encoding="utf-8"))
    rows = glossary_rows(build(tiny_project).out_dir)
    assert len(rows) == len(theme_terms) == 30
    assert rows[0] == ("部门整体支出绩效自评表", "Department overall expenditure performance self-evaluation form",
                       "部门对本年度全部支出的绩效目标完成情况进行自我评价的表格。")
    assert rows == [(t["zh"], t["en"], t["meaning_zh"]) for t in theme_terms]
    # a site's own glossary.yaml wins over the theme's, and an English site shows the English meaning
    write(tiny_project / "overrides/glossary.yaml",
          "- {zh: 测试术语, en: Test term, meaning_zh: 中文释义 <b>&, meaning_en: English meaning <b>&}\n"
          "- {zh: 第二条, en: Second, meaning_zh: 二, meaning_en: two}\n")
    assert glossary_rows(build(tiny_project).out_dir) == [("测试术语", "Test term", "中文释义 <b>&"),
                                                         ("第二条", "Second", "二")]
    set_site_option(tiny_project, "language: en")
    assert glossary_rows(build(tiny_project).out_dir) == [("测试术语", "Test term", "English meaning <b>&"),
                                                         ("第二条", "Second", "two")]


def test_string_tables_have_the_same_keys():
    english = yaml.safe_load((STRINGS / "en.yaml").read_text(encoding="utf-8"))
    chinese = yaml.safe_load((STRINGS / "zh-CN.yaml").read_text(encoding="utf-8"))
    assert sorted(set(chinese) - set(english)) == []
    assert sorted(set(english) - set(chinese)) == []
    for table in (english, chinese):
        assert all(isinstance(v, str) and v.strip() for v in table.values())


# ---------------------------------------------------------------- downloads


def read_csv(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    assert data.startswith(BOM), path
    return list(csv.reader(io.StringIO(data[len(BOM):].decode("utf-8"), newline="")))


def test_csv_downloads_have_bom_and_parse(built_sample):
    project = built_sample.parent
    forms = form_keys(project)  # department-wide and project forms
    years = sorted((built_sample / "data/by-year").iterdir())
    reports, indicators = [REPORT_COLUMNS], [INDICATOR_COLUMNS]
    for folder in years:  # each year's files: one header each, the rows of that year
        year_reports, year_indicators = read_csv(folder / "reports.csv"), read_csv(folder / "indicators.csv")
        assert year_reports[0] == REPORT_COLUMNS and year_indicators[0] == INDICATOR_COLUMNS
        reports += year_reports[1:]
        indicators += year_indicators[1:]
    assert len(reports) == 1 + len(forms)
    assert all(len(row) == len(REPORT_COLUMNS) for row in reports)
    project_column = REPORT_COLUMNS.index("project_id")
    assert sorted((r[0], int(r[3]), r[project_column]) for r in reports[1:]) == forms
    assert all(len(row) == len(INDICATOR_COLUMNS) for row in indicators)
    row_project = INDICATOR_COLUMNS.index("project_id")
    per_form_rows = 0
    for slug, year, project_id in forms:
        rows = read_csv(built_sample / "data" / slug / f"{form_file(year, project_id)}.csv")
        assert rows[0] == INDICATOR_COLUMNS
        assert all(r[0] == slug and r[1] == str(year) and r[row_project] == project_id for r in rows[1:])
        per_form_rows += len(rows) - 1
    assert per_form_rows == len(indicators) - 1


def test_reports_json_has_the_seed_form(built_sample):
    forms = [f for folder in sorted((built_sample / "data/by-year").iterdir())
             for f in json.loads((folder / "reports.json").read_text(encoding="utf-8"), parse_float=Decimal)["forms"]]
    assert len(forms) == len(form_keys(built_sample.parent))
    seed = [f for f in forms if f["department"] == "wangcheng-kexie" and f["year"] == 2021]
    assert len(seed) == 1
    assert seed[0]["execution"]["score"] == Decimal("7.95")
    assert seed[0]["fictional"] is False


def test_yaml_download_is_the_source_record(built_sample):
    project = built_sample.parent
    for slug, year, project_id in form_keys(project):
        name = f"{form_file(year, project_id)}.yaml"
        source = (project / "content" / "departments" / slug / name).read_bytes()
        assert (built_sample / "data" / slug / name).read_bytes() == source, (slug, name)


def test_json_download_equals_check_output(built_sample, capsys):
    code, out, _ = run_cli(capsys, "check", "-p", str(built_sample.parent), "--format", "json")
    assert code == 0
    checked = json.loads(out, parse_float=Decimal)["forms"]
    by_key = {(f["department"], f["year"], (f.get("project") or {}).get("id", "")): f for f in checked}
    assert len(by_key) == len(checked)
    assert sorted(by_key) == form_keys(built_sample.parent)
    published = {}
    for folder in (built_sample / "data/by-year").iterdir():
        for form in json.loads((folder / "reports.json").read_text(encoding="utf-8"), parse_float=Decimal)["forms"]:
            published[(form["department"], form["year"], (form.get("project") or {}).get("id", ""))] = form
    assert published == by_key
    for slug, year, project_id in by_key:  # the JSON is in the year's file only, not beside each form
        assert not (built_sample / "data" / slug / f"{form_file(year, project_id)}.json").exists()


# ---------------------------------------------------------------- feed and sitemap


def test_feed_entries_and_dates_come_from_the_data(tiny_project, tmp_path):
    record = tiny_project / "content" / "departments" / "alpha" / "2021.yaml"
    record.write_text(record.read_text(encoding="utf-8") + "published: 2022-03-15\n", encoding="utf-8")
    first = build(tiny_project, tmp_path / "one").out_dir
    second = build(tiny_project, tmp_path / "two").out_dir
    feed = (first / "feed.xml").read_bytes()
    assert feed == (second / "feed.xml").read_bytes()

    root = ET.fromstring(feed)
    assert root.tag == f"{ATOM}feed"
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == len(forms_of(tiny_project))
    updated = {e.findtext(f"{ATOM}id"): e.findtext(f"{ATOM}updated") for e in entries}
    assert updated == {
        "urn:perfsite:alpha:2021": "2022-03-15T00:00:00Z",  # published
        "urn:perfsite:alpha:2022": "2023-01-01T00:00:00Z",  # year + 1
        "urn:perfsite:beta:2021": "2022-01-01T00:00:00Z",
    }
    assert root.findtext(f"{ATOM}updated") == max(updated.values())
    assert [e.findtext(f"{ATOM}updated") for e in entries] == sorted(updated.values(), reverse=True)
    # no base_url: links relative to feed.xml, titles are the department's name and the year
    assert [(e.findtext(f"{ATOM}title"), e.find(f"{ATOM}link").get("href")) for e in entries] == [
        ("甲单位 2022", "departments/alpha/2022/"), ("甲单位 2021", "departments/alpha/2021/"),
        ("乙单位 2021", "departments/beta/2021/")]  # newest first


def test_sample_feed_has_one_entry_per_form(built_sample):
    root = ET.parse(built_sample / "feed.xml").getroot()
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == len(form_keys(built_sample.parent))
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(set(ids)) == len(ids)


def sitemap_locs(site: Path) -> list[str]:
    root = ET.parse(site / "sitemap.xml").getroot()
    assert root.tag == f"{SITEMAP}urlset"
    return [url.findtext(f"{SITEMAP}loc") or "" for url in root.findall(f"{SITEMAP}url")]


def test_sitemap_lists_every_page_but_404(built_sample):
    pages = [rel for rel in html_pages(built_sample) if rel not in ("404.html", "search/index.html")]
    locs = sitemap_locs(built_sample)
    assert len(locs) == len(set(locs))
    base = "https://example.org/perfsite/"  # the sample's base_url
    assert sorted(locs) == sorted(base + rel.removesuffix("index.html") for rel in pages)
    assert all("404" not in loc for loc in locs)


def test_sitemap_and_feed_with_base_url(tiny_project):
    set_site_option(tiny_project, "base_url: https://example.org/perf/")
    site = build(tiny_project).out_dir
    pages = [rel for rel in html_pages(site) if rel not in ("404.html", "search/index.html")]
    assert sorted(sitemap_locs(site)) == sorted("https://example.org/perf/" + rel.removesuffix("index.html")
                                                for rel in pages)
    root = ET.parse(site / "feed.xml").getroot()
    for entry in root.findall(f"{ATOM}entry"):
        href = entry.find(f"{ATOM}link").get("href")
        assert href.startswith("https://example.org/perf/departments/")
        assert entry.findtext(f"{ATOM}id") == href
    assert "Sitemap: https://example.org/perf/sitemap.xml" in (site / "robots.txt").read_text(encoding="utf-8")


def test_sitemap_without_base_url_is_not_written(tiny_project, capsys):
    code, out, _ = run_cli(capsys, "build", "-p", str(tiny_project))
    assert code == 0
    assert not (tiny_project / "site" / "sitemap.xml").exists()
    assert "sitemap.xml not written" in out


def test_impossible_published_date_is_refused_and_located(tiny_project, capsys):
    record = tiny_project / "content" / "departments" / "alpha" / "2021.yaml"
    lines = record.read_text(encoding="utf-8").count("\n")
    record.write_text(record.read_text(encoding="utf-8") + "published: 2022-13-45\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "build", "-p", str(tiny_project))
    assert code == 1
    assert err.splitlines() == [
        f'content/departments/alpha/2021.yaml:{lines + 1}:12: published: expected a real date YYYY-MM-DD, '
        'got "2022-13-45"',
        "perfsite: 1 problem in the content; nothing was changed"]
    assert out == ""
    assert not (tiny_project / "site").exists()


def test_feed_id_is_an_iri_for_any_title(tiny_project):
    site_yaml = tiny_project / "content" / "site.yaml"
    site_yaml.write_text("title: My Site & Co\nprofile: national\n", encoding="utf-8")
    site = build(tiny_project).out_dir
    feed_id = ET.parse(site / "feed.xml").getroot().findtext(f"{ATOM}id")
    assert not re.search(r"\s", feed_id), feed_id


# ---------------------------------------------------------------- escaping

SCRIPT = "<script>alert(1)</script>"
ATTR = '"><img src=x onerror=alert(1)>'
TEMPLATE = "{{ 7*7 }}"


def hostile_project(project: Path) -> None:
    def edit(path: Path, change) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(data)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    folder = project / "content" / "departments" / "alpha"
    edit(folder / "department.yaml", lambda d: d.update(name=f"N1{SCRIPT}N2{ATTR}N3{TEMPLATE}N4",
                                                        note=f"O1{SCRIPT}O2"))

    def record(d):
        d["functions"] = (f"F1{SCRIPT}F2 {ATTR} F3{TEMPLATE}F4\n\n[x](javascript:alert(1)) "
                          "[y](JAVASCRIPT:alert(2)) [z](data:text/html,<b>x</b>) [ok](https://example.org/ok)\n\n"
                          "<img src=x onerror=alert(3)>\n")
        d["goals"]["planned"] = f"<script>alert(4)</script>\n\n{TEMPLATE}\n"
        d["indicators"][0]["content"] = f"C1{SCRIPT}C2{ATTR}C3{TEMPLATE}C4"
        d["indicators"][0]["reason"] = f"R1{SCRIPT}R2{ATTR}R3{TEMPLATE}R4"
        d["funds"]["sources"][0]["name"] = f"S1{SCRIPT}S2"
        d["notes"] = f"T1{SCRIPT}T2"

    edit(folder / "2021.yaml", record)


def test_hostile_text_is_escaped_everywhere(tiny_project):
    hostile_project(tiny_project)
    site = build(tiny_project).out_dir
    pages = html_pages(site)
    for rel, text in pages.items():
        assert SCRIPT not in text, rel
        assert "alert(4)</script>" not in text, rel
        assert "<img" not in text, rel
        assert 'href="javascript:' not in text.lower(), rel
        assert not re.search(r'<a\b[^>]*href="data:', text.lower()), rel
        for prefix in ("N3", "F3", "C3", "R3"):
            assert f"{prefix}49" not in text, rel

    form = pages["departments/alpha/2021/index.html"]
    escaped_script = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for prefix in ("N1", "F1", "C1", "R1", "S1", "T1"):
        assert f"{prefix}{escaped_script}" in form, prefix
    assert "N2&#34;&gt;&lt;img src=x onerror=alert(1)&gt;N3" in form
    for prefix in ("N3", "F3", "C3", "R3"):
        assert f"{prefix}{TEMPLATE}{prefix[0]}4" in form, prefix
        assert f"{prefix}49" not in form, prefix
    # markdown: raw HTML is text, unsafe links are not links
    assert "&lt;img src=x onerror=alert(3)&gt;" in form
    assert 'href="https://example.org/ok"' in form  # the link filter is not simply dropping every link
    assert all(not h.startswith(("javascript:", "data:")) for h in re.findall(r'href="([^"]*)"', form.lower()))
    # the department name in charts' JSON cannot close the <script> element, and is a plain label
    # for Plotly (tags escaped, so Plotly shows them instead of reading them as formatting)
    year = pages["2021/index.html"]
    assert "N1\\u0026lt;script\\u0026gt;alert(1)\\u0026lt;/script\\u0026gt;N2" in year
    department = pages["departments/alpha/index.html"]
    assert f"O1{escaped_script}O2" in department
    for rel in ("departments/index.html", "2021/index.html", "quality/2022/index.html"):
        assert f"N1{escaped_script}" in pages[rel], rel


def test_hostile_text_in_feed_is_escaped(tiny_project):
    hostile_project(tiny_project)
    site = build(tiny_project).out_dir
    root = ET.parse(site / "feed.xml").getroot()
    titles = [e.findtext(f"{ATOM}title") for e in root.findall(f"{ATOM}entry")]
    assert f"N1{SCRIPT}N2{ATTR}N3{TEMPLATE}N4 2021" in titles


# ---------------------------------------------------------------- --strict


def test_strict_build_fails_on_audit_errors(sample_project, capsys):
    code, _, err = run_cli(capsys, "build", "-p", str(sample_project), "--strict", "-q")
    assert code == 1
    assert "--strict" in err


def test_build_without_strict_succeeds_despite_audit_errors(sample_project, capsys):
    code, out, err = run_cli(capsys, "build", "-p", str(sample_project))
    assert code == 0, err
    summary = re.search(r"findings: (\d+) errors, (\d+) warnings, (\d+) info", out)
    # the same counts as `check` finds, by severity, and errors among them
    code, checked, _ = run_cli(capsys, "check", "-p", str(sample_project), "--format", "json")
    severities = [f["severity"] for form in json.loads(checked)["forms"] for f in form["findings"]]
    counts = tuple(severities.count(s) for s in ("error", "warning", "info"))
    assert tuple(map(int, summary.groups())) == counts and counts[0] > 0, (summary.group(0), counts)


def test_a_large_site_gets_a_sitemap_index_and_a_feed_of_the_newest(tiny_project, monkeypatch):
    """Past SITEMAP_URLS pages, sitemap.xml indexes numbered sitemaps (each a plain urlset, all
    pages once); the feed keeps the newest FEED_ENTRIES forms. Both stay small at any size."""
    from generator.site import feeds

    monkeypatch.setattr(feeds, "SITEMAP_URLS", 4)
    monkeypatch.setattr(feeds, "FEED_ENTRIES", 2)
    set_site_option(tiny_project, "base_url: https://example.org/perf")
    record = tiny_project / "content/departments/beta/2021.yaml"
    record.write_text(record.read_text(encoding="utf-8") + "published: 2023-05-01\n", encoding="utf-8")
    site = build(tiny_project).out_dir
    index = ET.parse(site / "sitemap.xml").getroot()
    assert index.tag == f"{SITEMAP}sitemapindex"
    parts = [loc.findtext(f"{SITEMAP}loc") for loc in index.findall(f"{SITEMAP}sitemap")]
    pages = [rel for rel in html_pages(site) if rel not in ("404.html", "search/index.html")]
    assert parts == [f"https://example.org/perf/sitemap-{i}.xml" for i in range(1, (len(pages) + 3) // 4 + 1)]
    locs = []
    for i in range(1, len(parts) + 1):
        part = ET.parse(site / f"sitemap-{i}.xml").getroot()
        assert part.tag == f"{SITEMAP}urlset" and len(part) <= 4
        locs += [url.findtext(f"{SITEMAP}loc") for url in part]
    assert sorted(locs) == sorted("https://example.org/perf/" + rel.removesuffix("index.html") for rel in pages)
    entries = ET.parse(site / "feed.xml").getroot().findall(f"{ATOM}entry")
    assert len(entries) == 2
    assert entries[0].findtext(f"{ATOM}title").endswith("2021") and "beta" in entries[0].findtext(f"{ATOM}id")


def test_the_newest_forms_of_groups_are_the_newest_of_all(monkeypatch):
    """The feed's forms merged from each year's own newest are those of every form sorted:
    by publication date, then department, year and project, newest first."""
    from types import SimpleNamespace as Obj

    from generator.site import feeds

    monkeypatch.setattr(feeds, "FEED_ENTRIES", 4)

    def form(published, slug, year, project=""):
        return Obj(report=Obj(published=published, department=Obj(slug=slug), year=year, project_id=project))

    years = [[form("2022-03-01", "a", 2021), form("2022-05-01", "b", 2021), form("2022-05-01", "a", 2021, "p"),
              form("", "c", 2021)],
             [form("2023-01-01", "a", 2022), form("2022-05-01", "a", 2022), form("2022-05-01", "b", 2022)]]
    merged = feeds.newest_of_groups([feeds.newest_forms(forms) for forms in years])
    assert merged == feeds.newest_forms([f for forms in years for f in forms])
    assert [(f.report.published, f.report.department.slug, f.report.year) for f in merged] == [
        ("2023-01-01", "a", 2022), ("2022-05-01", "b", 2022), ("2022-05-01", "b", 2021), ("2022-05-01", "a", 2022)]

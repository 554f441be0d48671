"""Every text field of every record, escaped in every file a build writes: checked without a
browser (tests/test_injection.py opens the same fields in Chromium).

Each field holds its own marker ``F07X<x-inj a="1">&amp;'"``: the field's id, then a tag that
must never reach a page as markup. The fields are found by walking the record schemas, so a
text field added later is covered without touching this file. Then, for each built file:

- HTML: ``<x-inj`` never appears raw; parsed with html.parser, no ``x-inj`` element exists, and
  every field shown on a page reads back, as text or attribute value, exactly as written;
  inside ``<script>`` (chart JSON) nothing can open a tag;
- feed.xml and sitemap.xml: no raw ``<x-inj``, well-formed, the titles read back as written;
- data downloads (JSON, CSV, YAML) are data, not markup: the field is there verbatim, never
  HTML-escaped (escaping there would corrupt what people download).

Pagefind's index (``pagefind/``) is data its own UI renders as text; test_injection covers it
in the browser.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, REPO, copy_project

from generator.build.run import build
from generator.read.config import SITE_SCHEMA
from generator.read.schema import DEPARTMENT_SCHEMA, REPORT_SCHEMA

TAG = '<x-inj a="1">'
RAW = re.compile(rb"<x-inj", re.I)
FORMS = ("departments/alpha/2021.yaml", "departments/alpha/2022.yaml", "departments/beta/2021.yaml")
DEPARTMENTS = ("departments/alpha/department.yaml", "departments/beta/department.yaml")
SITE_NAMES = {("theme",), ("profile",), ("layouts", "department"), ("layouts", "project")}  # names of shipped
# things, validated against them: not free text; in a record, the layout and profile it names and the level
# names its layout allows
REPORT_NAMES = {("layout",), ("profile",), ("indicators", "*", "level1"), ("indicators", "*", "level2")}
# not shown on any page (code identifies the department in downloads; an indicator note is the
# transcriber's; a relative target's base is in the JSON and YAML downloads, not yet on the page):
# still in every download
NOT_ON_PAGES = {("code",)}  # a row's note is a column of its own, its base shown with the target (#11, #12)
MARKDOWN = {("functions",), ("goals", "planned"), ("goals", "achieved")}


def payload(fid: str) -> str:
    return f"{fid}{TAG}&amp;'\""


def text_paths(schema: dict, path: tuple = ()):
    """Key paths (``*`` for list items) of the free-text fields of a schema: strings without an
    enum or a pattern; target and actual (string or number) too."""
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if "object" in types:
        for key, sub in schema.get("properties", {}).items():
            yield from text_paths(sub, (*path, key))
    elif "array" in types:
        yield from text_paths(schema["items"], (*path, "*"))
    elif "string" in types and "enum" not in schema and "pattern" not in schema:
        yield path


@dataclass(frozen=True)
class Field:
    fid: str
    file: str           # relative to content/
    path: tuple         # with list indexes
    pattern: tuple      # with * for list items, as the schema has it

    @property
    def on_pages(self) -> bool:
        return self.pattern not in NOT_ON_PAGES

    def shown(self) -> tuple[str, ...]:
        """How the field reads back on a page: Markdown turns the ``&amp;`` entity into ``&``."""
        text = payload(self.fid)
        return (text, text.replace("&amp;", "&")) if self.pattern in MARKDOWN else (text,)


def fill(data: dict, file: str, patterns, fields: list[Field]) -> None:
    """Put a marker in every field the patterns name (creating optional ones)."""
    def walk(node, rest: tuple, trail: tuple, pattern: tuple) -> None:
        key = rest[0]
        if key == "*":
            for i, item in enumerate(node):
                walk(item, rest[1:], (*trail, i), pattern)
        elif len(rest) == 1:
            field = Field(f"F{len(fields):02d}X", file, (*trail, key), pattern)
            fields.append(field)
            node[key] = payload(field.fid)
        else:
            walk(node.setdefault(key, [{"part": "other"}] if rest[1] == "*" else {}), rest[1:], (*trail, key), pattern)

    for pattern in patterns:
        walk(data, pattern, (), pattern)


def hostile_project(target: Path, language: str) -> list[Field]:
    """The tiny project with a marker in every text field, a base_url (for sitemap.xml) and a
    site glossary whose text is hostile too."""
    project = copy_project(FIXTURES / "tiny", target)
    content = project / "content"
    fields: list[Field] = []
    patterns = {"site.yaml": [p for p in text_paths(SITE_SCHEMA) if p not in SITE_NAMES]}
    patterns.update({f: list(text_paths(DEPARTMENT_SCHEMA)) for f in DEPARTMENTS})
    patterns.update({f: [p for p in text_paths(REPORT_SCHEMA) if p not in REPORT_NAMES] for f in FORMS})
    for file, file_patterns in patterns.items():
        data = yaml.safe_load((content / file).read_text(encoding="utf-8"))
        fill(data, file, file_patterns, fields)
        if file == "site.yaml":
            data.update(language=language, base_url="https://example.org/x")
        (content / file).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    glossary = [{key: payload(f"G{i}{key}") for key in ("zh", "en", "meaning_zh", "meaning_en")} for i in range(2)]
    (project / "overrides").mkdir()
    (project / "overrides/glossary.yaml").write_text(yaml.safe_dump(glossary, allow_unicode=True), encoding="utf-8")
    return fields


class Page(HTMLParser):
    """A page as a browser reads it: elements, decoded text and attribute values, script bodies."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.texts: list[str] = []
        self.scripts: list[str] = []
        self._raw: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.texts += [value for _, value in attrs if value]
        self._raw = tag if tag in ("script", "style") else None

    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)
        self.texts += [value for _, value in attrs if value]

    def handle_endtag(self, tag):
        self._raw = None

    def handle_data(self, data):
        (self.scripts if self._raw else self.texts).append(data)

    @property
    def text(self) -> str:
        return "\n".join(self.texts)


def html_problems(out: Path, fields: list[Field]) -> list[str]:
    """Every way a marker reached a page as markup, and every field missing from the pages."""
    problems: list[str] = []
    seen: set[str] = set()
    for path in sorted(out.rglob("*.html")):
        rel = path.relative_to(out).as_posix()
        if rel.startswith("pagefind/"):
            continue
        source = path.read_text(encoding="utf-8")
        if RAW.search(source.encode()):
            at = source.lower().index("<x-inj")
            problems.append(f"{rel}: raw <x-inj at {at}: …{source[max(0, at - 60):at + 30]!r}")
        page = Page(source)
        if "x-inj" in page.tags:
            problems.append(f"{rel}: an <x-inj> element was parsed")
        for script in page.scripts:
            if re.search(r"<[a-z/!]", script, re.I):
                problems.append(f"{rel}: a <script> or <style> body can open a tag: {script[:80]!r}")
        text = page.text
        for field in fields:
            if field.fid in text:
                if not any(shown in text for shown in field.shown()):
                    at = text.index(field.fid)
                    problems.append(f"{rel}: {field.file} {field.path} not shown as written: {text[at:at + 40]!r}")
                seen.add(field.fid)
    problems += [f"{f.file} {f.path} is shown on no page" for f in fields if f.on_pages and f.fid not in seen]
    problems += [f"{f.file} {f.path} is shown but should not be" for f in fields if not f.on_pages and f.fid in seen]
    return problems


LANGUAGES = ("zh-CN", "en")


@pytest.fixture(scope="module", params=LANGUAGES)
def hostile_site(request, tmp_path_factory) -> tuple[Path, list[Field]]:
    root = tmp_path_factory.mktemp(f"escaping-{request.param}")
    fields = hostile_project(root / "project", request.param)
    return build(root / "project").out_dir, fields


def test_every_text_field_of_the_schemas_holds_a_marker(hostile_site):
    _, fields = hostile_site
    patterns = {f.pattern for f in fields}
    assert patterns == (set(text_paths(REPORT_SCHEMA)) - REPORT_NAMES | set(text_paths(DEPARTMENT_SCHEMA))
                        | set(text_paths(SITE_SCHEMA)) - SITE_NAMES)
    assert {("name",), ("functions",), ("funds", "sources", "*", "name"), ("indicators", "*", "reason"),
            ("indicators", "*", "measures"), ("notes",), ("title",)} <= patterns
    # 3 site fields; 4 per department; per form 10 (6 + project code, 主管部门, 实施单位, untranscribed
    # note), 1 per fund source (1, 1, 2) and 9 per indicator (3 each; 度量单位 the ninth)
    assert len(fields) == 3 + 2 * 4 + 3 * (10 + 27) + 1 + 1 + 2


def test_pages_show_every_field_escaped(hostile_site):
    out, fields = hostile_site
    problems = html_problems(out, fields)
    assert problems == [], f"{len(problems)} problem(s):\n" + "\n".join(problems)


def test_glossary_text_is_escaped(hostile_site):
    out, _ = hostile_site
    page = Page((out / "glossary/index.html").read_text(encoding="utf-8"))
    for i in range(2):
        for key in ("zh", "en"):
            assert payload(f"G{i}{key}") in page.text, key
    english = '<html lang="en">' in (out / "glossary/index.html").read_text(encoding="utf-8")
    assert payload("G0meaning_en" if english else "G0meaning_zh") in page.text


def test_feed_and_sitemap_have_no_raw_marker_and_read_back(hostile_site):
    out, fields = hostile_site
    by_path = {(f.file, f.path): f for f in fields}
    for name in ("feed.xml", "sitemap.xml", "robots.txt"):
        assert not RAW.search((out / name).read_bytes()), name
    ET.parse(out / "sitemap.xml")
    atom = "{http://www.w3.org/2005/Atom}"
    feed = ET.parse(out / "feed.xml").getroot()
    assert feed.findtext(f"{atom}title") == payload(by_path[("site.yaml", ("title",))].fid)
    names = {slug: payload(by_path[(f"departments/{slug}/department.yaml", ("name",))].fid)
             for slug in ("alpha", "beta")}
    assert sorted(e.findtext(f"{atom}title") for e in feed.findall(f"{atom}entry")) == sorted(
        [f"{names['alpha']} 2021", f"{names['alpha']} 2022", f"{names['beta']} 2021"])


def strings_in(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings_in(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    return []


# what the JSON and CSV downloads carry; every form field is in the YAML download, the source itself
IN_DATA = {("name",), ("funds", "sources", "*", "name"), ("indicators", "*", "level3"), ("indicators", "*", "content"),
           ("indicators", "*", "target"), ("indicators", "*", "actual"), ("indicators", "*", "reason"),
           ("indicators", "*", "measures"), ("indicators", "*", "base"), ("indicators", "*", "unit"),
           ("indicators", "*", "note"), ("project",), ("project_code",), ("authority",), ("implementer",),
           ("untranscribed", "*", "note"), ("title",)}  # the site's title names data/datapackage.json


def test_downloads_hold_every_field_verbatim(hostile_site):
    out, fields = hostile_site
    texts: list[str] = []
    for path in sorted((out / "data").rglob("*.json")):
        texts += strings_in(json.loads(path.read_text(encoding="utf-8")))
    for path in sorted((out / "data").rglob("*.csv")):
        data = path.read_bytes().decode("utf-8-sig")
        texts += [cell for row in csv.reader(io.StringIO(data, newline="")) for cell in row]
    found = set()
    for field in fields:
        holding = [t for t in texts if field.fid in t]
        if holding:
            found.add(field.pattern)
            assert all(payload(field.fid) in t for t in holding), (field.path, holding[:3])
    assert found == IN_DATA
    for form in FORMS:
        _, slug, name = form.split("/")
        source = (out.parent / "content" / form).read_bytes()
        assert (out / f"data/{slug}/{name}").read_bytes() == source
        assert source.count(b"<x-inj") == sum(1 for f in fields if f.file == form)


def test_the_check_catches_one_unescaped_field(tmp_path):
    """The checks can fail: a site template that prints one field with ``|safe`` is caught."""
    fields = hostile_project(tmp_path / "project", "zh-CN")
    form = (REPO / "themes/default/templates/form.html").read_text(encoding="utf-8")
    assert form.count("{{ c[field] }}") == 1  # every indicator cell, escaped by indicator_cells()
    override = tmp_path / "project/overrides/templates/form.html"
    override.parent.mkdir(parents=True)
    unsafe = "{{ ind.reason|safe if field == 'reason' else c[field] }}"
    override.write_text(form.replace("{{ c[field] }}", unsafe), encoding="utf-8")
    problems = html_problems(build(tmp_path / "project").out_dir, fields)
    reasons = {f.fid for f in fields if f.pattern == ("indicators", "*", "reason")}
    assert len(reasons) == 9
    raw = [p for p in problems if "raw <x-inj" in p]
    assert sorted(p.split(":")[0] for p in raw) == ["departments/alpha/2021/index.html",
                                                     "departments/alpha/2022/index.html",
                                                     "departments/beta/2021/index.html"]
    assert any("an <x-inj> element was parsed" in p for p in problems)

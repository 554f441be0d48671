"""Lists too long for one page are paged (``site.yaml`` ``rows_per_page``, 1000 by default).

A province publishes about 10,000 department forms a year: one page listing them all was
8.9 MB. A year's ranking, its project forms, the department list and a year's quality list
are split into pages of ``rows_per_page`` rows; every row is on exactly one page, in the
order of the unpaged list, ranks run on across pages, and every page links every other.
Past 1,000 forms the rate-against-total chart counts forms per band instead of drawing a
named dot per form (hand-computed below). The build after an edit, the dev server's preview
and a clean build agree byte for byte with pages in play.
"""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import plotly.graph_objects as go
import pytest
from browser_support import open_page, serve_folder, wait_for_charts
from conftest import REPO, tree_bytes
from playwright.sync_api import Page
from test_build_cache import assert_clean
from test_preview import assert_same_site, expected_files
from test_readers_layout import NARROW_CELLS, PAGE_WIDTH, PHONE, UNANCHORED_BOXES

from generator.build.run import build
from generator.errors import ContentError
from generator.read.config import load_config
from generator.score.scoring import Interval
from generator.serve.preview import PreviewSite
from generator.site import charts
from generator.site.theme import load_theme

SIZE = 2


def paged(project: Path, size: int = SIZE) -> Path:
    site_yaml = project / "content" / "site.yaml"
    site_yaml.write_text(site_yaml.read_text(encoding="utf-8") + f"rows_per_page: {size}\n", encoding="utf-8")
    return project


class Rows(HTMLParser):
    """The rows of one table (by id, or the first ``table.data``): each row's cell texts and its
    first link; and the pager's links (in page order) with the current one."""

    def __init__(self, table_id: str | None):
        super().__init__()
        self.table_id, self.depth, self.rows = table_id, 0, []
        self.pager_label: str | None = None
        self.pagers: dict[str, list[str]] = {}  # by the nav's label: its links, "" for the current page
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            if self.depth or (a.get("id") == self.table_id if self.table_id else "data" in (a.get("class") or "")):
                self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append({"cells": [], "link": None})
        elif self.depth and tag in ("td", "th") and self.rows:
            self.cell = []
        elif self.depth and tag == "a" and self.rows and self.rows[-1]["link"] is None:
            self.rows[-1]["link"] = a["href"]
        elif tag == "nav" and "pager" in (a.get("class") or ""):
            self.pager_label = a["aria-label"]
        elif self.pager_label and tag == "a":
            self.pagers.setdefault(self.pager_label, []).append(a["href"])
        elif self.pager_label and tag == "span" and a.get("aria-current") == "page":
            self.pagers.setdefault(self.pager_label, []).append("")  # the current page: no link

    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth -= 1
        elif tag in ("td", "th") and self.cell is not None:
            self.rows[-1]["cells"].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "nav":
            self.pager_label = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def read_rows(site: Path, rel: str, table_id: str | None) -> Rows:
    parser = Rows(table_id)
    parser.feed((site / rel).read_text(encoding="utf-8"))
    return parser


def every_page(site: Path, first: str, table_id: str | None, label: str) -> list[tuple[str, Rows]]:
    """The pages of one list in order, found from the first page's pager (named ``label``)."""
    found = read_rows(site, first, table_id)
    if f"{label}：分页" not in found.pagers:
        return [(first, found)]
    pages = found.pagers[f"{label}：分页"]
    assert found.pagers[f"{label}：分页（表尾）"] == pages  # the same links below the table, named apart
    base = (site / first).parent
    names = [first if href == "" else (base / href).resolve().relative_to(site.resolve()).as_posix()
             for href in pages]
    return [(rel, read_rows(site, rel, table_id)) for rel in names]


def body_rows(parsed: Rows) -> list[dict]:
    return [r for r in parsed.rows if r["cells"] and r["link"]]


LISTS = [  # (first page, table id, the pager's label, rows in the sample)
    ("2023/index.html", "ranking", "总分排名", 9),
    ("2023/index.html", "project-list", "本年度项目支出绩效自评表", 3),
    ("departments/index.html", None, "部门", 14),
    ("quality/2023/index.html", "quality-table", "数据质量", 5),
]


@pytest.fixture(scope="module")
def both_builds(tmp_path_factory) -> tuple[Path, Path]:
    """The sample built as it is (nothing paged) and with two rows per page."""
    from conftest import copy_project

    whole = build(copy_project(REPO, tmp_path_factory.mktemp("whole"))).out_dir
    split = build(paged(copy_project(REPO, tmp_path_factory.mktemp("paged")))).out_dir
    return whole, split


@pytest.mark.parametrize(("first", "table_id", "label", "count"), LISTS, ids=[f"{a}#{b}" for a, b, _, _ in LISTS])
def test_every_row_is_on_exactly_one_page_in_order(both_builds, first, table_id, label, count):
    whole, split = both_builds
    unpaged = body_rows(read_rows(whole, first, table_id))
    assert len(unpaged) == count and not read_rows(whole, first, table_id).pagers
    pages = every_page(split, first, table_id, label)
    assert len(pages) == -(-count // SIZE)
    rows = []
    for number, (rel, parsed) in enumerate(pages, 1):
        shown = body_rows(parsed)
        assert 0 < len(shown) <= SIZE, rel
        for links in (parsed.pagers[f"{label}：分页"], parsed.pagers[f"{label}：分页（表尾）"]):
            assert [i for i, href in enumerate(links) if href == ""] == [number - 1], f"{rel}: wrong page current"
        rows += shown
    # the same rows, in the same order; links are relative to their page, so compare what they point at
    point = [(whole / first).parent / r["link"] for r in unpaged]
    assert [(split / rel).parent.joinpath(r["link"]).resolve() for rel, p in pages for r in body_rows(p)] == \
        [(split / p.relative_to(whole)).resolve() for p in point]
    assert [r["cells"][1:] for r in rows] == [r["cells"][1:] for r in unpaged]
    if table_id == "ranking":  # ranks run on across pages
        assert [r["cells"][0] for r in rows] == [str(i) for i in range(1, count + 1)]


def test_the_year_page_keeps_its_facts_and_charts_and_further_pages_do_not(both_builds):
    _, split = both_builds
    year = (split / "2023/index.html").read_text(encoding="utf-8")
    further = (split / "2023/ranking-2.html").read_text(encoding="utf-8")
    assert 'class="facts"' in year and "chart-plot" in year
    assert 'class="facts"' not in further and "chart-plot" not in further
    assert "<h1>2023 总分排名 第 2 页</h1>" in further
    assert "本页列出第 3–4 项，共 9 项。" in further and "点击表头排序只排本页的行" in further
    assert '<a href="../2023/index.html">2023 年度部门整体支出绩效自评</a> › 第 2 页' in further
    assert (split / "2023/projects-2.html").is_file() and not (split / "2023/projects-3.html").exists()
    assert not (split / "2016/ranking-2.html").exists()  # one form that year: one page


def test_paged_pages_are_in_the_sitemap_and_every_pager_link_resolves(both_builds):
    _, split = both_builds
    sitemap = (split / "sitemap.xml").read_text(encoding="utf-8")
    for rel in ("2023/ranking-5.html", "2023/projects-2.html", "departments/page-7.html", "quality/2023/page-3.html"):
        assert (split / rel).is_file() and rel in sitemap
    for path in split.rglob("*.html"):
        for href in sum(read_rows(split, path.relative_to(split).as_posix(), None).pagers.values(), []):
            assert href == "" or (path.parent / href).resolve().is_file(), f"{path}: {href}"


def test_rows_per_page_must_be_a_whole_number_above_zero(sample_project: Path):
    paged(sample_project, 0)
    with pytest.raises(ContentError) as caught:
        load_config(sample_project)
    text = str(caught.value)
    assert "content/site.yaml" in text and "rows_per_page" in text


def test_a_build_after_edits_equals_a_clean_build_as_pages_come_and_go(sample_project: Path, tmp_path: Path):
    project = paged(sample_project)
    build(project)
    # a form fewer in 2023: nine forms need five pages, eight need four
    (project / "content/departments/demo-wenlv/2023.yaml").unlink()
    build(project)
    assert not (project / "site/2023/ranking-5.html").exists()
    assert_clean(project, tmp_path, "clean-fewer")
    # a total changes: the ranking reorders across pages
    form = project / "content/departments/demo-jiaoyu/2023.yaml"
    form.write_text(form.read_text(encoding="utf-8").replace("year: 2023", "year: 2023\nnotes: 分页编辑", 1),
                    encoding="utf-8")
    build(project)
    assert_clean(project, tmp_path, "clean-edited")


def test_the_preview_serves_the_paged_site(sample_project: Path):
    project = paged(sample_project)
    update = PreviewSite(project).update()
    assert "2023/ranking-5.html" in update.snapshot and "departments/page-7.html" in update.snapshot
    assert_same_site(update.snapshot, expected_files(project))


# --------------------------------------------------------------------------- counts by band


def dot(rate, total, grade="优"):
    return SimpleNamespace(execution=SimpleNamespace(rate=None if rate is None else Decimal(rate)),
                           total_shown=total if isinstance(total, Interval) else Decimal(total), grade=grade)


def test_rate_against_total_counts_forms_per_band_by_hand():
    t = load_theme(load_config(REPO)).strings
    forms = [
        dot("59.99", "95"),        # rate <60, total ≥95
        dot("60", "94.99"),        # 60–80 (60 included), 90–95
        dot("100", "60"),          # ≥100, 60–70
        dot("100.5", "100"),       # ≥100, ≥95
        dot("95", "95"),           # 95–100, ≥95
        dot(None, "80"),           # no rate: not drawn
        dot("90", Interval(Decimal("91"), Decimal("93"))),  # a range inside one band: 90–95
        dot("90", Interval(Decimal("88"), Decimal("92"))),  # a range across 85–90 and 90–95: a row of its own
    ]
    chart = charts.rate_score_counts(forms, t)
    assert chart.headers[1:] == ("<60", "60–80", "80–90", "90–95", "95–100", "≥100")
    assert [row[0] for row in chart.rows] == ["≥95", "90–95", "85–90", "80–85", "70–80", "60–70", "<60",
                                              t["total_across_bands"]]
    table = {row[0]: list(row[1:]) for row in chart.rows}
    assert table["≥95"] == [1, 0, 0, 0, 1, 1]
    assert table["90–95"] == [0, 1, 0, 1, 0, 0]
    assert table["60–70"] == [0, 0, 0, 0, 0, 1]
    assert table[t["total_across_bands"]] == [0, 0, 0, 1, 0, 0]
    assert sum(sum(v) for v in table.values()) == 7  # every form with a rate, once
    trace = chart.figure["data"][0]
    assert trace["type"] == "heatmap" and trace["y"][0] == t["total_across_bands"] and trace["y"][-1] == "≥95"
    assert trace["z"][-1] == [1, 0, 0, 0, 1, 1]
    go.Figure(chart.figure)  # plotly accepts it


def named(i: int, rate: str, total: str):
    department = SimpleNamespace(name=f"部门{i}", slug=f"d{i:04d}", fictional=True)
    return SimpleNamespace(execution=SimpleNamespace(rate=Decimal(rate)), total=Decimal(total),
                           total_shown=Decimal(total), grade="优", report=SimpleNamespace(department=department))


@pytest.mark.parametrize(("count", "ids"), [
    (100, ["chart-ranking", "chart-rate-vs-score", "chart-grades"]),  # a dot per department still reads
    (101, ["chart-rate-vs-score", "chart-grades"]),                    # past 100 the ranking table says it
    (1001, ["chart-rate-vs-score", "chart-grades"]),                   # past 1,000: counts per band
])
def test_year_charts_stay_small_as_a_year_grows(count, ids):
    t = load_theme(load_config(REPO)).strings
    forms = [named(i, "95", "90") for i in range(count)]
    made = charts.year_charts(forms, t, ["优", "良", "中", "差"])
    assert [c.id for c in made] == ids
    scatter = made[-2]
    assert scatter.figure["data"][0]["type"] == ("heatmap" if count > 1000 else "scatter")
    if count > 1000:
        assert len(scatter.rows) == 7 and sum(sum(r[1:]) for r in scatter.rows) == count
    grades = made[-1].figure["layout"]["yaxis"]
    assert "dtick" not in grades and grades["tickformat"] == "d"  # not a tick per form


def test_a_few_forms_count_in_whole_steps():
    t = load_theme(load_config(REPO)).strings
    few = charts.year_charts([named(i, "95", "90") for i in range(3)], t, ["优", "良", "中", "差"])[-1]
    assert few.figure["layout"]["yaxis"]["dtick"] == 1 and few.figure["layout"]["yaxis"]["tickformat"] == "d"
    ten = charts.year_charts([named(i, "95", "90") for i in range(10)], t, ["优", "良", "中", "差"])[-1]
    assert ten.figure["layout"]["yaxis"]["dtick"] == 1
    eleven = charts.year_charts([named(i, "95", "90") for i in range(11)], t, ["优", "良", "中", "差"])[-1]
    assert "dtick" not in eleven.figure["layout"]["yaxis"]


# --------------------------------------------------------------------------- a big year in Chromium


@pytest.fixture(scope="module")
def big_year(tmp_path_factory) -> Path:
    """1,001 forms in one year (the benchmark's corpus): two ranking pages and counts per band."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("perfsite_corpus", REPO / "bench" / "corpus.py")
    corpus = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(corpus)
    project = corpus.write_corpus(tmp_path_factory.mktemp("big-year"), 1001, years=1, search=False)
    return build(project).out_dir


def test_a_year_of_a_thousand_and_one_forms_is_two_small_pages(big_year: Path):
    year = big_year / "2019/index.html"
    assert len(body_rows(read_rows(big_year, "2019/index.html", "ranking"))) == 1000
    assert len(body_rows(read_rows(big_year, "2019/ranking-2.html", "ranking"))) == 1
    assert re.search(r'<td class="num" data-value="1001">1001</td>', (big_year / "2019/ranking-2.html").read_text())
    assert "chart-ranking" not in year.read_text(encoding="utf-8")
    sizes = {p.relative_to(big_year).as_posix(): p.stat().st_size for p in big_year.rglob("*.html")}
    # one page per 1,000 rows: a page of 10,000 forms a year stays ten times under 2 MB per page
    assert max(sizes.values()) < 1_000_000, max(sizes.items(), key=lambda kv: kv[1])
    assert len(tree_bytes(big_year / "departments")) > 1000


@pytest.mark.browser
@pytest.mark.parametrize("rel", ["2019/index.html", "2019/ranking-2.html", "departments/page-2.html",
                                 "quality/2019/index.html"])
def test_a_big_year_reads_on_a_phone(page: Page, big_year: Path, rel: str, artifacts_dir: Path):
    with serve_folder(big_year, name="perfsite-paging-http") as url:
        page.set_viewport_size(PHONE)
        response, problems = open_page(page, url + rel)
        assert response is not None and response.ok
        drawn = wait_for_charts(page)
        assert drawn == (2 if rel == "2019/index.html" else 0)
        assert page.locator(".chart-plot svg.main-svg").count() >= drawn
        if drawn:  # the count axis of 1,001 forms has a handful of ticks, not one per form
            assert 2 <= page.locator("#chart-grades .ytick").count() <= 15
        assert problems.all() == [], "\n".join(problems.all())
        scroll_width, client_width = page.evaluate(PAGE_WIDTH)
        assert scroll_width <= client_width == 390, f"{rel}: {scroll_width} px wide on a 390 px phone"
        assert page.evaluate(NARROW_CELLS) == [] and page.evaluate(UNANCHORED_BOXES) == []
        pager = page.locator("nav.pager").first
        assert pager.is_visible()
        box = pager.locator("li").first.bounding_box()
        assert box["width"] >= 44 and box["height"] >= 30  # a link a thumb can hit
        if rel == "2019/index.html":
            page.screenshot(path=str(artifacts_dir / "phone-390-big-year.png"), full_page=False)


TRIM_ROWS = """() => {
  let dropped = 0;
  for (const body of document.querySelectorAll('table tbody')) {
    for (const row of Array.from(body.rows).slice(50)) { row.remove(); dropped += 1; }
  }
  return dropped;
}"""


@pytest.mark.browser
@pytest.mark.parametrize("rel", ["2019/index.html", "2019/ranking-2.html"])
def test_a_big_year_has_no_serious_accessibility_violations(page: Page, big_year: Path, rel: str):
    from axe_playwright_python.sync_playwright import Axe

    with serve_folder(big_year, name="perfsite-paging-axe") as url:
        open_page(page, url + rel)
        wait_for_charts(page)
        # the rows past the first 50 repeat their markup: axe on all 1,000 takes 17 s of CI
        dropped = page.evaluate(TRIM_ROWS)
        assert dropped == (950 if rel == "2019/index.html" else 0)
        violations = Axe().run(page).response["violations"]
    bad = [f"{v['id']} ({v['impact']}): {v['help']} {[n['target'] for n in v['nodes']][:3]}"
           for v in violations if v.get("impact") in ("serious", "critical")]
    assert bad == [], "\n".join(bad)
    # each pager is a landmark of its own name (axe: landmark-unique)
    assert not [v["id"] for v in violations if v["id"] == "landmark-unique"]

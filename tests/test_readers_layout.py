"""Pages for readers: on a phone, on paper, and honest about fictional data.

Phones (390 × 844): no page scrolls sideways, a wide table scrolls inside its own box with its
first column kept in view, and no cell is narrower than four characters. Paper: the form page
in print media fits the printable width of A4 (charts give way to their data tables; no search,
navigation or stray separators) and Chromium prints it as an A4 PDF. Fictional data: the
"all fictional" banner only where everything shown is fictional; a page that also shows the
real department tags each fictional row instead. Screenshots of every page type at 1366 and
390 px and the printed form (PDF and PNG) are saved under test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_support import open_page, serve_folder, wait_for_charts
from playwright.sync_api import Page

PAGES = {
    "overview": "index.html",
    "year": "2021/index.html",
    "departments": "departments/index.html",
    "department": "departments/wangcheng-kexie/index.html",
    "form": "departments/wangcheng-kexie/2021/index.html",
    "quality": "quality/index.html",
    "quality-year": "quality/2022/index.html",
    "project-form": "departments/lijiang-gucheng-ziranziyuan/2020/weipian-zhifa/index.html",
    "glossary": "glossary/index.html",
    "search": "search/index.html?q=%E7%A7%91%E6%99%AE",  # 科普: the results list is shown too
    "404": "404.html",
}
FORM = PAGES["form"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}

# A4 is 210 mm wide; print.css takes 12 mm off each side: 186 mm at 96 CSS px per inch.
PRINT_MARGIN_MM = {"top": 15, "right": 12, "bottom": 15, "left": 12}
PRINTABLE_PX = (210 - PRINT_MARGIN_MM["left"] - PRINT_MARGIN_MM["right"]) / 25.4 * 96  # 702.99

# Every table cell with text on screen (a heading moved off-screen for screen readers is not)
# whose content box is narrower than four of its own
# characters (CJK glyphs are 1 em wide): such a cell wraps a 三级指标 one character a line.
NARROW_CELLS = """() => {
  const out = [];
  for (const c of document.querySelectorAll("th, td")) {
    if (!c.offsetParent || !c.textContent.trim() || c.getBoundingClientRect().right < 0) continue;  // unseen
    const s = getComputedStyle(c);
    const content = c.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
    if (content < 4 * parseFloat(s.fontSize) - 0.5) out.push(c.textContent.trim().slice(0, 16) + ": " + content + "px");
  }
  return out;
}"""

# Scroll boxes whose table is wider than the box but whose rows keep no cell in view.
UNANCHORED_BOXES = """() => Array.from(document.querySelectorAll(".table-scroll"))
  .filter(b => b.scrollWidth > b.clientWidth)
  .filter(b => { const row = b.querySelector("tbody tr");
                 return !row || !Array.from(row.cells).some(c => getComputedStyle(c).position === "sticky"); })
  .map(b => b.getAttribute("aria-label"))"""

PAGE_WIDTH = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"

# Rendered elements whose box leaves [0, width]: on paper they would be cut off.
OUTSIDE = """(width) => {
  const out = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.left < -0.5 || r.right > width + 0.5) {
      out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + "." + el.getAttribute("class") + " "
               + r.left.toFixed(1) + ".." + r.right.toFixed(1));
    }
  }
  return out;
}"""

VISIBLE = "(sel) => Array.from(document.querySelectorAll(sel)).filter(e => e.getClientRects().length > 0).length"


@pytest.fixture(scope="module")
def site_url(built_sample: Path):
    with serve_folder(built_sample, name="perfsite-readers-http") as url:
        yield url


def load(page: Page, url: str, viewport: dict) -> None:
    page.set_viewport_size(viewport)
    response, problems = open_page(page, url)
    assert response is not None and response.ok, url
    wait_for_charts(page)
    page.evaluate("() => document.fonts.ready")
    assert problems.all() == [], "\n".join(problems.all())


def save_screenshot(page: Page, target: Path) -> None:
    target.unlink(missing_ok=True)
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 5 * 1024, f"{target}: {target.stat().st_size} bytes"


# --------------------------------------------------------------------------- 1. phones


@pytest.mark.browser
@pytest.mark.parametrize("name", list(PAGES), ids=list(PAGES))
def test_phone_page_does_not_scroll_sideways(page: Page, site_url: str, name: str, artifacts_dir: Path):
    load(page, site_url + PAGES[name], PHONE)
    if name == "search":
        page.wait_for_selector(".pagefind-ui__result", timeout=60_000)
    save_screenshot(page, artifacts_dir / f"phone-390-{name}.png")
    scroll_width, client_width = page.evaluate(PAGE_WIDTH)
    assert scroll_width <= client_width == 390, f"{name}: the page is {scroll_width} px wide on a 390 px phone"
    assert page.evaluate(NARROW_CELLS) == [], f"{name}: cells narrower than four characters"
    assert page.evaluate(UNANCHORED_BOXES) == [], f"{name}: a wide table scrolls its row names away"


@pytest.mark.browser
def test_glossary_stacks_on_a_phone(page: Page, site_url: str):
    load(page, site_url + PAGES["glossary"], PHONE)
    box = page.locator(".table-scroll:has(.glossary)")
    assert box.evaluate("b => b.scrollWidth <= b.clientWidth"), "the glossary should stack, not scroll"
    assert page.locator(".glossary thead").bounding_box()["x"] < 0  # headings kept for screen readers only
    term, english = page.locator(".glossary tbody tr").first.locator("th, td").all()[:2]
    assert english.bounding_box()["y"] >= term.bounding_box()["y"] + term.bounding_box()["height"] - 1


@pytest.mark.browser
@pytest.mark.parametrize("name", list(PAGES), ids=list(PAGES))
def test_desktop_page_fits_and_is_saved(page: Page, site_url: str, name: str, artifacts_dir: Path):
    load(page, site_url + PAGES[name], DESKTOP)
    save_screenshot(page, artifacts_dir / f"desktop-1366-{name}.png")
    scroll_width, client_width = page.evaluate(PAGE_WIDTH)
    assert scroll_width <= client_width, f"{name}: {scroll_width} px on a {client_width} px screen"
    assert page.evaluate(NARROW_CELLS) == [], f"{name}: cells narrower than four characters"


@pytest.mark.browser
def test_indicator_table_scrolls_in_its_box_with_first_column_in_view(page: Page, site_url: str):
    load(page, site_url + FORM, PHONE)
    box = page.locator("#indicators .table-scroll")
    assert box.evaluate("b => getComputedStyle(b).overflowX") == "auto"
    assert box.evaluate("b => b.scrollWidth > b.clientWidth"), "the indicator table should be wider than a phone"
    first = page.locator("#indicators table th[scope=rowgroup]").first
    third = page.locator("#indicators table tbody td").first  # the first 三级指标 cell
    left_before = first.bounding_box()["x"]
    third_before = third.bounding_box()["x"]
    box.evaluate("b => { b.scrollLeft = 300; }")
    assert box.evaluate("b => b.scrollLeft") == 300
    assert first.bounding_box()["x"] == pytest.approx(left_before, abs=1), "一级指标 column scrolled away"
    assert third.bounding_box()["x"] == pytest.approx(third_before - 300, abs=1), "the rest did not scroll"
    # the box can be scrolled from the keyboard, and says what it holds
    assert box.get_attribute("tabindex") == "0" and box.get_attribute("aria-label")


# --------------------------------------------------------------------------- 2. paper


def a4_media_box(pdf: bytes) -> list[tuple[float, float]]:
    """Width and height in points of every /MediaBox in the PDF (A4: 595.28 × 841.89 pt)."""
    boxes = re.findall(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    return [(float(x1) - float(x0), float(y1) - float(y0)) for x0, y0, x1, y1 in boxes]


@pytest.mark.browser
def test_project_form_prints_on_a4_within_the_printable_width(page: Page, site_url: str, artifacts_dir: Path):
    """A project form in its own layout (national project: ten indicator columns) fits the paper too."""
    load(page, site_url + PAGES["project-form"], {"width": round(PRINTABLE_PX), "height": 1000})
    page.emulate_media(media="print")
    page.evaluate("() => document.fonts.ready")
    outside = page.evaluate(OUTSIDE, PRINTABLE_PX)
    assert outside == [], "beyond the printable width of A4:\n" + "\n".join(outside[:20])
    assert page.evaluate(VISIBLE, "table.indicators") == 1 and page.evaluate(VISIBLE, "table.funds") == 1
    assert page.evaluate(VISIBLE, "details.technical") == 0 and page.evaluate(VISIBLE, ".chart-plot") == 0
    save_screenshot(page, artifacts_dir / "print-project-form.png")
    pdf = page.pdf(format="A4", margin={k: f"{v}mm" for k, v in PRINT_MARGIN_MM.items()}, print_background=True)
    assert a4_media_box(pdf), "no pages in the PDF"


@pytest.mark.browser
def test_form_prints_on_a4_within_the_printable_width(page: Page, site_url: str, artifacts_dir: Path):
    load(page, site_url + FORM, {"width": round(PRINTABLE_PX), "height": 1000})
    page.emulate_media(media="print")
    page.evaluate("() => document.fonts.ready")
    outside = page.evaluate(OUTSIDE, PRINTABLE_PX)
    assert outside == [], "beyond the printable width of A4:\n" + "\n".join(outside[:20])
    scroll_width, _ = page.evaluate(PAGE_WIDTH)
    assert scroll_width <= PRINTABLE_PX + 0.5
    # the official form: no search box, navigation, links bar or charts; the data tables stay
    for hidden in ("form.site-search", ".site-header nav", ".breadcrumb", ".footer-links", ".chart-plot",
                   ".other-years", "#downloads-heading"):
        assert page.evaluate(VISIBLE, hidden) == 0, f"{hidden} is printed"
    assert page.evaluate(VISIBLE, "table.indicators") == 1
    charts = page.locator(".chart").count()
    assert charts >= 1 and page.evaluate(VISIBLE, "table.chart-table") == charts, \
        "a chart's numbers must print in its place"
    # no separator left alone on a line once the links around it are gone
    lines = [line.strip() for line in page.evaluate("() => document.body.innerText").splitlines()]
    stray = [line for line in lines if line and re.fullmatch(r"[·|›/\-–—•\s]+", line)]
    assert stray == [], stray
    assert not [line for line in lines if line.startswith(("·", "›")) or line.endswith(("·", "›"))]
    png = artifacts_dir / "print-form.png"
    save_screenshot(page, png)

    pdf_path = artifacts_dir / "print-form.pdf"
    pdf_path.unlink(missing_ok=True)
    margin = {k: f"{v}mm" for k, v in PRINT_MARGIN_MM.items()}
    pdf = page.pdf(path=str(pdf_path), format="A4", margin=margin, print_background=True)
    boxes = a4_media_box(pdf)
    assert boxes, "no pages in the PDF"
    for width, height in boxes:
        assert width == pytest.approx(595.3, abs=1.5) and height == pytest.approx(841.9, abs=1.5), boxes
    assert len(boxes) >= 2, "the whole form fits on one page? the indicator table alone takes more"


# --------------------------------------------------------------------------- 3. fictional data (no browser)


def html_of(site: Path, path: str) -> str:
    return (site / path).read_text(encoding="utf-8")


def rows_naming(html: str, slug_prefix: str) -> list[str]:
    """The table rows that link to a department whose slug starts with ``slug_prefix``."""
    return [row for row in re.findall(r"<tr>.*?</tr>", html, flags=re.S)
            if re.search(rf'href="[^"]*departments/{re.escape(slug_prefix)}', row)]


# The sample: 9 fictional demo-* departments (8 with forms for 2021–2023, demo-chengguan with a 2023
# form only) beside 5 real ones: wangcheng-kexie (2021) and the four real project forms R1–R4
# (haidian-xueyuanlu 2016, lijiang-gucheng-ziranziyuan 2020, guichi-tangxi 2022, qingshen-fagai 2023).
# 2021 has 9 (the 8 demo ones and wangcheng-kexie); the quality page shows the 12 departments with
# findings (7 demo ones and the 5 real ones).
MIXED = {"index.html": (14, 9), "2021/index.html": (9, 8), "departments/index.html": (14, 9),
         "quality/index.html": (12, 7)}
REAL = ["wangcheng-kexie", "haidian-xueyuanlu", "lijiang-gucheng-ziranziyuan", "guichi-tangxi", "qingshen-fagai"]


@pytest.mark.parametrize("path", list(MIXED))
def test_mixed_pages_mark_fictional_rows_not_the_whole_page(built_sample: Path, path: str):
    html = html_of(built_sample, path)
    assert "fictional-banner" not in html, f"{path} also shows the real department"
    total, fictional = MIXED[path]
    assert 'class="fictional-mixed"' in html
    assert f"本页共 {total} 个部门，其中 {fictional} 个是虚构示例部门" in html


@pytest.mark.parametrize(("path", "demo_rows", "real_rows"), [("2021/index.html", 8, 1),
                                                              ("departments/index.html", 9, 5)])
def test_each_fictional_row_is_tagged_and_the_real_one_is_not(built_sample: Path, path: str, demo_rows: int,
                                                              real_rows: int):
    html = html_of(built_sample, path)
    demo = rows_naming(html, "demo-")
    real = [row for slug in REAL for row in rows_naming(html, slug)]
    assert len(demo) == demo_rows and len(real) == real_rows, (len(demo), len(real))
    assert all("tag-fictional" in row for row in demo)
    assert not any("tag-fictional" in row for row in real)


def test_year_chart_tables_name_fictional_departments(built_sample: Path):
    html = html_of(built_sample, "2021/index.html")
    chart_rows = re.findall(r'<tr><th scope="row">([^<]*)</th>', html)
    real = [name for name in chart_rows if name.startswith("长沙市望城区")]
    fictional = [name for name in chart_rows if name.startswith("示例")]
    # 2 charts name departments: the ranking (9 rows) and rate against score (9 rows)
    assert len(real) == 2 and len(fictional) == 16
    assert all("虚构" not in name for name in real), real
    # the demo names already say （虚构示例）: not marked twice
    assert all("虚构" in name and "（虚构）" not in name for name in fictional), fictional


def test_chart_names_mark_a_fictional_department_beside_a_real_one():
    from generator.read.model import Department
    from generator.site.charts import fictional_marked

    t = {"fictional_short": "（虚构）", "fictional_tag": "虚构"}
    real = Department(slug="real", name="甲局", src_path="r")
    made_up = Department(slug="made-up", name="乙局", src_path="m", fictional=True)
    said = Department(slug="said", name="丙局（虚构）", src_path="s", fictional=True)
    assert fictional_marked([real, made_up, said], t) == ["甲局", "乙局（虚构）", "丙局（虚构）"]
    # all fictional: the page's banner says so, the names stay as they are
    assert fictional_marked([made_up, said], t) == ["乙局", "丙局（虚构）"]


@pytest.mark.parametrize("path", ["2022/index.html", "departments/demo-jiaoyu/index.html",
                                  "departments/demo-jiaoyu/2022/index.html"])
def test_all_fictional_pages_keep_the_banner(built_sample: Path, path: str):
    html = html_of(built_sample, path)
    assert html.count('class="fictional-banner"') == 1 and "fictional-mixed" not in html


@pytest.mark.parametrize("path", ["departments/wangcheng-kexie/index.html",
                                  "departments/wangcheng-kexie/2021/index.html"])
def test_real_department_pages_carry_no_fictional_mark(built_sample: Path, path: str):
    html = html_of(built_sample, path)
    assert "fictional-banner" not in html and "fictional-mixed" not in html and "tag-fictional" not in html


def test_an_all_fictional_site_has_the_banner_on_every_list(tiny_project: Path):
    from generator.build.run import build

    site = build(tiny_project).out_dir  # the tiny fixture: two departments, both fictional
    for path in ("index.html", "departments/index.html", "quality/index.html"):
        html = html_of(site, path)
        assert html.count('class="fictional-banner"') == 1 and "fictional-mixed" not in html, path

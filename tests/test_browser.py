"""The built sample site in a real headless Chromium (pytest-playwright, sync API).

The site is served from a background ``http.server`` on 127.0.0.1 (ephemeral port); one
form page is also opened straight from disk (``file://``) because the site must work offline.
The link checks (6) parse the built HTML with html.parser and need no browser: they carry no
``browser`` marker, so a run without Chromium still has them. Nothing here touches the network.
"""

from __future__ import annotations

import functools
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from browser_support import TIMEOUT_MS, open_page, rendered_chart_count, serve_folder, wait_for_charts
from playwright.sync_api import Page, expect

PAGES = {
    "index": "index.html",
    "year": "2021/index.html",
    "departments": "departments/index.html",
    "department": "departments/demo-jiaoyu/index.html",
    "seed-department": "departments/wangcheng-kexie/index.html",  # one year: no trend charts
    "seed-form": "departments/wangcheng-kexie/2021/index.html",
    "fictional-form": "departments/demo-jiaoyu/2022/index.html",
    "quality": "quality/index.html",
    "quality-year": "quality/2022/index.html",
    "project-form": "departments/lijiang-gucheng-ziranziyuan/2020/weipian-zhifa/index.html",
    "404": "404.html",
}
CHART_PAGES = {"index", "year", "department", "seed-form", "fictional-form", "project-form"}
SEED = PAGES["seed-form"]


# --------------------------------------------------------------------------- serving


@pytest.fixture(scope="session")
def site_url(built_sample: Path):
    """Base URL (with trailing slash) of the built sample served over HTTP on 127.0.0.1."""
    with serve_folder(built_sample, name="perfsite-test-http") as url:
        yield url


page_ids = pytest.mark.parametrize("name", list(PAGES), ids=list(PAGES))


# --------------------------------------------------------------------------- 1. loads cleanly


@pytest.mark.browser
@page_ids
def test_page_loads_without_errors(page: Page, site_url: str, name: str):
    response, problems = open_page(page, site_url + PAGES[name])
    assert response is not None and response.status == 200, f"{name}: HTTP {response and response.status}"
    wait_for_charts(page)  # errors thrown while drawing charts must be caught too
    assert problems.all() == [], f"{name}: " + "\n".join(problems.all())


@pytest.mark.browser
def test_favicon_is_declared(page: Page, site_url: str):
    _, problems = open_page(page, site_url + PAGES["index"])
    wait_for_charts(page)
    assert page.locator("link[rel~=icon]").count() > 0, "no <link rel=icon>"
    assert problems.all() == []


# --------------------------------------------------------------------------- 2. charts draw


@pytest.mark.browser
@page_ids
def test_every_chart_draws_its_svg(page: Page, site_url: str, name: str):
    open_page(page, site_url + PAGES[name])
    plots = page.locator(".chart-plot")
    for i in range(plots.count()):
        plot = plots.nth(i)
        expect(plot).to_have_attribute("data-rendered", "true", timeout=TIMEOUT_MS)
        expect(plot.locator("svg.main-svg").first).to_be_attached(timeout=TIMEOUT_MS)
    total = plots.count()
    assert rendered_chart_count(page) == total
    if name in CHART_PAGES:
        assert total > 0, f"{name} should carry at least one chart"


# --------------------------------------------------------------------------- 3. seed form figures


@pytest.mark.browser
def test_seed_form_shows_reported_and_recomputed_figures(page: Page, site_url: str):
    open_page(page, site_url + SEED)

    expect(page.locator("#funds-score")).to_have_text("7.95")

    rate = page.locator("#funds-rate")
    expect(rate).to_have_class(re.compile(r"(^|\s)flagged(\s|$)"))
    expect(rate).to_contain_text("118.65%")
    expect(rate.locator(".recomputed")).to_contain_text("120.49%")
    assert rate.inner_text().strip().startswith("118.65%"), "reported rate comes first"

    # the illegible row leaves the total open: 87.95–97.95 holds the printed 94.52, so it is not flagged
    total_score = page.locator("#total td.num").nth(1)
    expect(total_score).not_to_have_class(re.compile(r"(^|\s)flagged(\s|$)"))
    assert total_score.inner_text().strip().startswith("94.52"), total_score.inner_text()
    expect(total_score.locator(".recomputed-range")).to_have_text("复核 87.95–97.95")

    # the codes are staff details, collapsed under 技术信息: read from the DOM, not from the screen
    codes = page.locator("#findings table.findings details.technical code").evaluate_all(
        "els => els.map(e => e.textContent)")
    assert "rate-other-rule" in codes, codes
    assert "total-unconfirmed" in codes, codes
    assert "rate-mismatch" not in codes and "total-mismatch" not in codes, codes


# --------------------------------------------------------------------------- 4. fictional banner


@pytest.mark.browser
def test_fictional_banner_only_on_fictional_form(page: Page, site_url: str):
    open_page(page, site_url + PAGES["fictional-form"])
    expect(page.locator(".fictional-banner")).to_be_visible()

    open_page(page, site_url + SEED)
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator(".fictional-banner")).to_have_count(0)


# --------------------------------------------------------------------------- 5. accessibility


@pytest.fixture(scope="module")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.mark.browser
@page_ids
def test_no_serious_accessibility_violations(page: Page, site_url: str, name: str, axe):
    open_page(page, site_url + PAGES[name])
    wait_for_charts(page)
    results = axe.run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    if bad:
        lines = []
        for v in bad:
            lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
            lines.extend(f"    {node['target']}: {node.get('failureSummary', '').strip()}" for node in v["nodes"])
        report = "\n".join(lines)
        print(f"axe violations on {name}:\n{report}")
        pytest.fail(f"{len(bad)} serious/critical axe violation(s) on {name}:\n{report}")


# --------------------------------------------------------------------------- 6. link check (no browser)


class LinkParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []  # (attribute, value)
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if value is None:
                continue
            if key in ("href", "src"):
                self.links.append((f"<{tag} {key}>", value))
            elif key == "id" or (key == "name" and tag == "a"):
                self.ids.add(value)


@functools.cache
def parse_html(path: Path) -> LinkParser:
    parser = LinkParser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


SKIPPED_SCHEMES = ("http", "https", "mailto", "data")


def test_all_relative_links_resolve(built_sample: Path):
    """No browser: every relative href/src of every built page names a built file (and id)."""
    root = built_sample.resolve()
    pages = sorted(root.rglob("*.html"))
    assert set(PAGES.values()) <= {p.relative_to(root).as_posix() for p in pages}
    checked = 0
    broken: list[str] = []
    for page_path in pages:
        where = page_path.relative_to(root).as_posix()
        for attr, url in parse_html(page_path).links:
            url = url.strip()
            if url.startswith("#"):
                continue
            parts = urlsplit(url)
            if parts.scheme in SKIPPED_SCHEMES:
                continue
            checked += 1
            if parts.scheme or parts.netloc:
                broken.append(f"{where}: {attr} {url!r}: unexpected scheme/host")
                continue
            path = unquote(parts.path)
            if not path:
                target = page_path
            elif path.startswith("/"):
                broken.append(f"{where}: {attr} {url!r}: root-relative URL breaks when opened from disk")
                continue
            else:
                target = (page_path.parent / path).resolve()
            if not target.is_relative_to(root):
                broken.append(f"{where}: {attr} {url!r}: points outside the site")
                continue
            if not target.is_file():
                kind = "is a folder (no index.html from file://)" if target.is_dir() else "missing"
                broken.append(f"{where}: {attr} {url!r}: target {target.relative_to(root)} {kind}")
                continue
            if parts.fragment and target.suffix == ".html":
                fragment = unquote(parts.fragment)
                if fragment not in parse_html(target).ids:
                    broken.append(f"{where}: {attr} {url!r}: no id={fragment!r} in {target.relative_to(root)}")
    assert broken == [], f"{len(broken)} broken of {checked} links:\n" + "\n".join(broken)
    assert checked >= 100, f"only {checked} links checked"


def test_same_page_fragments_exist(built_sample: Path):
    """Pure '#id' links (skip link, findings → table rows) must name an id on the same page."""
    root = built_sample.resolve()
    checked = 0
    broken: list[str] = []
    pages = sorted(root.rglob("*.html"))
    for page_path in pages:
        parsed = parse_html(page_path)
        for attr, url in parsed.links:
            if url.startswith("#") and len(url) > 1:
                checked += 1
                if unquote(url[1:]) not in parsed.ids:
                    broken.append(f"{page_path.relative_to(root).as_posix()}: {attr} {url!r}")
    assert broken == [], "\n".join(broken)
    assert checked > len(pages), checked  # every page's skip link, and the findings' row links


# --------------------------------------------------------------------------- 7. sortable ranking


@pytest.mark.browser
@pytest.mark.parametrize("label", ["复核总分", "自评总分"])
def test_ranking_table_sorts_by_total(page: Page, site_url: str, label: str):
    """By the recomputed total or by the one the form printed (a form that prints none sorts first)."""
    open_page(page, site_url + PAGES["year"])
    table = page.locator("table#ranking")
    header = table.locator("thead th", has_text=label)
    expect(header).to_have_count(1)
    button = header.get_by_role("button")
    expect(button).to_be_visible()  # site.js has enhanced the header

    column = table.locator("thead th").all_inner_texts().index(header.inner_text())
    totals_js = (f"t => Array.from(t.tBodies[0].rows, r => parseFloat(r.children[{column}].dataset.value))"
                 ".filter(v => !isNaN(v))")
    totals = table.evaluate(totals_js)
    assert len(totals) > 1 and len(set(totals)) > 1, totals

    button.click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    ascending = table.evaluate(totals_js)  # aria-sort is set after the rows moved, in the same handler
    assert ascending[0] == min(totals) and ascending == sorted(totals), ascending

    button.click()
    expect(header).to_have_attribute("aria-sort", "descending")
    descending = table.evaluate(totals_js)
    assert descending[0] == max(totals) and descending == sorted(totals, reverse=True), descending


# --------------------------------------------------------------------------- 8. CJK font


@pytest.mark.browser
def test_chinese_text_uses_a_real_cjk_font(page: Page, site_url: str):
    open_page(page, site_url + SEED)
    page.evaluate("() => document.fonts.ready")
    assert page.evaluate("""() => document.fonts.check('16px "WenQuanYi Micro Hei"')""")
    family = page.evaluate("() => getComputedStyle(document.body).fontFamily")
    assert "WenQuanYi" in family, family

    text = "望城区科学技术协会"
    page.evaluate(
        """text => {
             const span = document.createElement("span");
             span.id = "cjk-probe";
             span.textContent = text;
             span.style.cssText = "font-size:16px;letter-spacing:0;white-space:nowrap;position:absolute;left:0;top:0";
             document.body.appendChild(span);
           }""",
        text,
    )
    width = page.evaluate('() => document.getElementById("cjk-probe").getBoundingClientRect().width')
    assert abs(width - len(text) * 16) <= len(text) * 16 * 0.1, f"{width}px for {len(text)} full-width glyphs"

    # Which font actually drew the glyphs (fonts.check alone is also true for absent system fonts).
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    document = cdp.send("DOM.getDocument", {"depth": -1})
    node = cdp.send("DOM.querySelector", {"nodeId": document["root"]["nodeId"], "selector": "#cjk-probe"})
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
    assert [f["familyName"] for f in fonts] == ["WenQuanYi Micro Hei"], fonts
    assert fonts[0]["glyphCount"] == len(text), fonts
    cdp.detach()


# --------------------------------------------------------------------------- 9. screenshot


@pytest.mark.browser
def test_seed_form_full_page_screenshot(page: Page, site_url: str, artifacts_dir: Path):
    open_page(page, site_url + SEED)
    wait_for_charts(page)
    page.evaluate("() => document.fonts.ready")
    target = artifacts_dir / "seed-form.png"
    target.unlink(missing_ok=True)
    page.screenshot(path=str(target), full_page=True)
    assert target.is_file()
    assert target.stat().st_size > 20 * 1024, f"{target.stat().st_size} bytes"


# --------------------------------------------------------------------------- 10. file://


@pytest.mark.browser
def test_form_page_works_from_disk(page: Page, built_sample: Path):
    url = (built_sample / SEED).resolve().as_uri()
    response, problems = open_page(page, url)
    assert response is not None and response.ok
    count = wait_for_charts(page)
    assert count > 0
    assert rendered_chart_count(page) == count
    assert problems.all() == [], "\n".join(problems.all())


# --------------------------------------------------------------------------- quality filter


@pytest.mark.browser
def test_the_quality_table_filters_and_sorts(page: Page, site_url: str):
    """Without JavaScript the whole table shows; with it, a text box and "errors only" narrow it."""
    _, problems = open_page(page, site_url + PAGES["quality-year"])
    rows = page.locator("#quality-table tbody tr")
    total = rows.count()
    assert total >= 2
    box = page.locator(".table-filter")
    expect(box).to_be_visible()
    errors = page.locator("#quality-table tbody tr:not([data-errors='0'])").count()
    page.locator(".table-filter .filter-errors").check()
    expect(page.locator("#quality-table tbody tr:visible")).to_have_count(errors)
    page.locator(".table-filter .filter-errors").uncheck()
    first = rows.first.locator("th").inner_text().split()[0]
    page.locator(".table-filter .filter-text").fill(first)
    visible = page.locator("#quality-table tbody tr:visible")
    assert 1 <= visible.count() < total or total == 1
    assert all(first in visible.nth(i).inner_text() for i in range(visible.count()))
    expect(page.locator(".filter-count")).to_contain_text(str(total))
    page.locator("#quality-table thead th button").nth(2).click()  # sort by errors
    expect(page.locator("#quality-table thead th").nth(2)).to_have_attribute("aria-sort", "ascending")
    assert problems.all() == []

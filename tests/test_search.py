"""Offline full-text search (Pagefind) over the built sample site.

Pagefind fetches its index with ``fetch()``/``import()``, so the search page only works over
HTTP: the built site is served by a background ``http.server`` on 127.0.0.1 (ephemeral port),
once from its own folder and once from its parent folder (the site under a sub-path).
The last tests read the built files only and need no browser. Nothing touches the network.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from browser_support import TIMEOUT_MS, open_page, serve_folder
from playwright.sync_api import Locator, Page, expect

from generator.read.records import FORM_FILE

SEED = "departments/wangcheng-kexie/2021/index.html"
SEED_NAME = "长沙市望城区科学技术协会"
SEED_QUERY = "科普服务人数"  # an indicator of the seed form only
FICTIONAL_NAME = "示例市教育局（虚构示例）"  # content/departments/demo-jiaoyu/department.yaml
FICTIONAL_FORMS = re.compile(r"/departments/demo-jiaoyu/20\d\d/index\.html$")
NONSENSE = ["qwzxqwzx", "龘靐齉"]  # Latin and CJK text that occurs in no form

# A page's own result link (the title), not the links to its headings nested below it.
RESULT_LINK = ".pagefind-ui__result-inner > .pagefind-ui__result-title .pagefind-ui__result-link"
ANY_RESULT_LINK = ".pagefind-ui__result-link"
MESSAGE = ".pagefind-ui__message"


# --------------------------------------------------------------------------- serving


@pytest.fixture(scope="session")
def site_url(built_sample: Path) -> Iterator[str]:
    """The built sample at the server's root."""
    with serve_folder(built_sample, name="perfsite-search-http") as url:
        yield url


@pytest.fixture(scope="session")
def sub_path_url(built_sample: Path) -> Iterator[str]:
    """The built sample under a sub-path: the PARENT folder is served, the site is /<folder>/."""
    with serve_folder(built_sample.parent, name="perfsite-search-http") as url:
        yield f"{url}{quote(built_sample.name)}/"


# --------------------------------------------------------------------------- helpers


def search_url(base: str, query: str) -> str:
    return f"{base}search/index.html?q={quote(query)}"


def first_result(page: Page) -> Locator:
    """The top-ranked page's title link, once Pagefind has loaded it."""
    link = page.locator(".pagefind-ui__result").first.locator(RESULT_LINK)
    expect(link).to_be_visible(timeout=TIMEOUT_MS)
    return link


def resolved_hrefs(page: Page, selector: str = RESULT_LINK) -> list[str]:
    return page.locator(selector).evaluate_all("links => links.map(a => a.href)")


def wait_for_no_results(page: Page, query: str) -> None:
    """Pagefind's zh-CN "no results" message for ``query``: the search has finished."""
    expect(page.locator(MESSAGE)).to_have_text(re.compile(r"未找到\s*" + re.escape(query)), timeout=TIMEOUT_MS)


# --------------------------------------------------------------------------- 1. the search page


@pytest.mark.browser
def test_seed_indicator_finds_the_seed_form(page: Page, site_url: str):
    response, problems = open_page(page, search_url(site_url, SEED_QUERY))
    assert response is not None and response.status == 200
    link = first_result(page)
    assert link.evaluate("a => a.href") == site_url + SEED
    expect(link).to_contain_text(SEED_NAME)
    assert set(resolved_hrefs(page)) == {site_url + SEED}, "only the seed form has this indicator"
    # the query is shown in the search box, and the excerpt highlights it
    expect(page.locator(".pagefind-ui__search-input")).to_have_value(SEED_QUERY)
    expect(page.locator(".pagefind-ui__result mark").first).to_be_visible()
    assert problems.all() == [], "\n".join(problems.all())


@pytest.mark.browser
@pytest.mark.parametrize("query", [FICTIONAL_NAME, "示例市教育局"], ids=["full-name", "part-of-name"])
def test_department_name_finds_its_forms(page: Page, site_url: str, query: str):
    _, problems = open_page(page, search_url(site_url, query))
    top = first_result(page)
    assert FICTIONAL_FORMS.search(top.evaluate("a => a.href")), top.evaluate("a => a.href")
    expect(top).to_contain_text(FICTIONAL_NAME)
    assert problems.all() == [], "\n".join(problems.all())


@pytest.mark.browser
@pytest.mark.parametrize("query", NONSENSE, ids=["latin", "cjk"])
def test_nonsense_finds_nothing(page: Page, site_url: str, query: str):
    _, problems = open_page(page, search_url(site_url, query))
    wait_for_no_results(page, query)
    assert page.locator(ANY_RESULT_LINK).count() == 0
    assert page.locator(".pagefind-ui__result").count() == 0
    assert problems.all() == [], "\n".join(problems.all())


@pytest.mark.browser
def test_search_page_policy_allows_webassembly_only_there(page: Page, site_url: str):
    """The search page (alone) adds 'wasm-unsafe-eval'; nothing else is loosened."""
    open_page(page, search_url(site_url, SEED_QUERY))
    first_result(page)
    csp = page.locator('meta[http-equiv="Content-Security-Policy"]').get_attribute("content")
    script_src = re.search(r"script-src ([^;]*)", csp).group(1).split()
    assert script_src == ["'self'", "'wasm-unsafe-eval'"], csp
    assert "unsafe-eval'" not in csp.replace("'wasm-unsafe-eval'", ""), csp
    page.goto(site_url + "index.html")
    home_csp = page.locator('meta[http-equiv="Content-Security-Policy"]').get_attribute("content")
    assert "wasm-unsafe-eval" not in home_csp, home_csp


# --------------------------------------------------------------------------- 2. the header search box


@pytest.mark.browser
@pytest.mark.parametrize("start", ["index.html", SEED], ids=["index", "form-page"])
def test_header_search_box_leads_to_results(page: Page, site_url: str, start: str):
    _, problems = open_page(page, site_url + start)
    box = page.locator("header #site-search-q")
    expect(box).to_be_visible()
    box.fill(SEED_QUERY)
    before = problems.all()  # CSP records live in the page: read them before it is left
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search/index\.html\?"), timeout=TIMEOUT_MS)
    url = urlsplit(page.url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == site_url + "search/index.html"
    assert parse_qs(url.query) == {"q": [SEED_QUERY]}
    link = first_result(page)
    assert link.evaluate("a => a.href") == site_url + SEED
    assert before == [] and problems.all() == [], "\n".join(before + problems.all())


# --------------------------------------------------------------------------- 3. under a sub-path


@pytest.mark.browser
def test_search_under_a_sub_path(page: Page, sub_path_url: str):
    _, problems = open_page(page, search_url(sub_path_url, SEED_QUERY))
    link = first_result(page)
    prefix = urlsplit(sub_path_url).path
    assert prefix != "/" and link.get_attribute("href").startswith(prefix), link.get_attribute("href")
    for href in resolved_hrefs(page, ANY_RESULT_LINK):  # the heading links too
        assert href.startswith(sub_path_url + SEED), href
    assert problems.all() == [], "\n".join(problems.all())

    with page.expect_navigation(wait_until="load") as navigation:
        link.click()
    response = navigation.value
    assert response is not None and response.status == 200, response and response.status
    assert page.url == sub_path_url + SEED
    expect(page.locator("#form-title")).to_contain_text(SEED_NAME)
    expect(page.locator("#funds-score")).to_have_text("7.95")


# --------------------------------------------------------------------------- 4. the built files


class Marks(HTMLParser):
    """Start tags carrying data-pagefind-* and whether each lies inside the indexed body."""

    def __init__(self):
        super().__init__()
        self.body: list[tuple[str, dict]] = []  # elements marked data-pagefind-body
        self.ignored: list[tuple[str, dict, bool]] = []  # (tag, attrs, inside the body)
        self._body_tag: str | None = None
        self._depth = 0  # open elements named like the body element, the body included

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-pagefind-body" in attrs:
            self.body.append((tag, attrs))
            self._body_tag, self._depth = tag, 0
        if tag == self._body_tag:
            self._depth += 1
        if "data-pagefind-ignore" in attrs:
            self.ignored.append((tag, attrs, self._depth > 0))

    def handle_endtag(self, tag):
        if tag == self._body_tag and self._depth > 0:
            self._depth -= 1


IGNORED_SECTIONS = {
    "findings": lambda attrs: attrs.get("id") == "findings",
    "charts": lambda attrs: "charts" in (attrs.get("class") or "").split(),
    "downloads": lambda attrs: attrs.get("aria-labelledby") == "downloads-heading",
}


def marks(path: Path) -> Marks:
    parser = Marks()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def form_pages(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix()  # department-wide forms, and project forms a level below
                  for pattern in ("departments/*/*/index.html", "departments/*/*/*/index.html")
                  for p in site.glob(pattern))


def department_pages(site: Path) -> list[str]:
    """Not indexed today although generator/site/search.py says they are; either way is accepted here."""
    return sorted(p.relative_to(site).as_posix() for p in site.glob("departments/*/index.html"))


def fragments(site: Path) -> dict[str, dict]:
    """Pagefind's per-page records (gzip'd JSON, tagged ``pagefind_dcd``) by page URL."""
    out = {}
    for path in sorted((site / "pagefind" / "fragment").glob("*.pf_fragment")):
        raw = gzip.decompress(path.read_bytes())
        assert raw.startswith(b"pagefind_dcd"), f"{path.name}: unknown Pagefind fragment format"
        record = json.loads(raw[len(b"pagefind_dcd"):])
        out[record["url"]] = record
    return out


def test_bundle_has_ui_and_chinese_index(built_sample: Path):
    bundle = built_sample / "pagefind"
    for name in ("pagefind-ui.js", "pagefind-ui.css", "pagefind.js", "pagefind-entry.json"):
        assert (bundle / name).is_file(), name
    entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
    assert "zh-cn" in entry["languages"], entry
    assert entry["languages"]["zh-cn"]["page_count"] == len(fragments(built_sample)) >= 25, entry
    # the search page loads exactly this bundle, relative to itself
    search = (built_sample / "search" / "index.html").read_text(encoding="utf-8")
    assert 'src="../pagefind/pagefind-ui.js"' in search
    assert 'data-bundle="../pagefind/"' in search


def test_every_form_page_is_indexed_and_no_overview_page(built_sample: Path):
    indexed = fragments(built_sample)
    urls = {url.lstrip("/") for url in indexed}
    forms = set(form_pages(built_sample))
    records = [p for p in (Path(__file__).resolve().parent.parent / "content/departments").glob("*/*.yaml")
               if FORM_FILE.match(p.name)]
    assert len(forms) == len(records) >= 26 and forms <= urls, sorted(forms - urls)
    assert urls - forms <= set(department_pages(built_sample)), sorted(urls - forms)
    seed = indexed["/" + SEED]
    assert seed["meta"]["title"].startswith(SEED_NAME)
    assert "科普" in seed["content"] and "服务" in seed["content"]


def test_form_pages_mark_body_and_ignored_sections(built_sample: Path):
    for rel in form_pages(built_sample):
        found = marks(built_sample / rel)
        assert [(tag, attrs.get("class")) for tag, attrs in found.body] == [("article", "form")], rel
        for name, wanted in IGNORED_SECTIONS.items():
            hits = [inside for tag, attrs, inside in found.ignored if tag == "section" and wanted(attrs)]
            assert hits, f"{rel}: the {name} section is not data-pagefind-ignore"
            assert all(hits), f"{rel}: the ignored {name} section lies outside the indexed body"


def test_overview_pages_are_not_indexed_bodies(built_sample: Path):
    """Home, year, list, quality, glossary, search and 404 pages would only echo the forms."""
    skip = set(form_pages(built_sample)) | set(department_pages(built_sample))
    for path in sorted(built_sample.rglob("*.html")):
        rel = path.relative_to(built_sample).as_posix()
        if rel not in skip and not rel.startswith("pagefind/"):
            assert marks(path).body == [], f"{rel} is marked data-pagefind-body"


def test_ignored_sections_stay_out_of_the_index(built_sample: Path):
    """Finding codes, chart captions and download labels are not searchable text."""
    seed = (built_sample / SEED).read_text(encoding="utf-8")
    for text in ("rate-other-rule", "total-unconfirmed", "年全部表的复核结果（JSON，含本表）", "原始记录（YAML）"):
        assert text in seed, text  # present on the page ...
    for url, record in fragments(built_sample).items():
        for text in ("rate-other-rule", "total-unconfirmed", "total-mismatch", "复核结果", "原始记录", "指标明细"):
            assert text not in record["content"].replace("\u200b", ""), f"{url}: {text!r} indexed"


# --------------------------------------------------------------------------- known gaps


@pytest.mark.browser
def test_search_page_from_disk_explains_itself(page: Page, built_sample: Path):
    _, problems = open_page(page, (built_sample / "search" / "index.html").as_uri() + "?q=" + quote(SEED_QUERY))
    expect(page.locator("main")).to_contain_text("直接从磁盘打开时无法搜索", timeout=5_000)
    assert [p for p in problems.all() if p.startswith("pageerror")] == []


@pytest.mark.browser
def test_the_search_page_has_one_search_box_in_the_sites_fonts(page: Page, site_url: str):
    _, problems = open_page(page, site_url + "search/index.html?q=" + SEED_QUERY)
    first_result(page)
    assert page.locator("input:visible").count() == 1  # Pagefind's; the header box is left out here
    font = page.locator("#search .pagefind-ui__search-input").evaluate("e => getComputedStyle(e).fontFamily")
    body = page.evaluate("() => getComputedStyle(document.body).fontFamily")
    assert "WenQuanYi Micro Hei" in font and font.split(",")[0] == body.split(",")[0]
    assert problems.all() == []

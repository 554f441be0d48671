"""Hostile record text in real Chromium: no injected script runs and the text shows escaped.

Every text field of a record (department.yaml and <year>.yaml) and of site.yaml holds an
XSS vector. To keep builds few, each build puts a different vector in each field and the
next build rotates them, so that across the builds every vector lands in a Markdown field
(职能概述, 年度目标), in a text field that also travels inside a chart's JSON spec
(department name, fund source name, indicator content) and in a plain text field; a
second, cheap sweep puts every vector in every site.yaml text field.

Every page of every build (index, years, departments, department, form, quality, 404 and,
when the build has one, search) is opened under the site's own Content-Security-Policy,
which must block anything that slipped through and still let the charts draw; the pages
where record fields show (department and form pages) are opened again with the CSP bypassed,
so escaping alone is shown to hold too. Before any page script runs, init scripts hook
alert/confirm/prompt/print and record ``securitypolicyviolation`` events; console errors,
page errors, dialogs and failed requests count as well. Then the DOM is audited (no on*
attribute, no foreign script/style/iframe/object/embed/base/meta refresh/form, no
javascript: or data: URL) and every field is read back where it shows: its text must be
exactly what the record says (``<script>`` visible as text, ``{{ 7*7 }}`` not 49).
"""

from __future__ import annotations

import copy
import json
import math
import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from browser_support import TIMEOUT_MS, PageWatcher, rendered_chart_count, serve_folder, wait_for_charts
from conftest import FIXTURES, copy_project
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Error, Page, Request

from generator.build.run import build
from generator.read.config import SITE_SCHEMA

LONG = "A" * 20_000 + "<img src=x onerror=alert(1)>" + "<script>alert(1)</script>" * 200

# --------------------------------------------------------------------------- the vectors

VECTORS: list[str] = [
    # script tags and breaking out of the surrounding markup
    "<script>alert(1)</script>",
    '"><script>alert(1)</script>',
    "'><img src=x onerror=alert(1)>",
    "<img src=x onerror=alert(1)>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "</title><script>alert(1)</script>",
    "</textarea></noscript></style><script>alert(1)</script>",
    '" onmouseover="alert(1)" autofocus onfocus="alert(1)',
    "' onfocus='alert(1)' autofocus='",
    # event-handler attributes on all sorts of elements
    "<svg onload=alert(1)>",
    "<svg/onload=confirm(1)>",
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<input autofocus onfocus=prompt(1)>",
    "<b onmouseover=alert(1)>bold</b>",
    '<img src="x" onerror="&#97;lert(1)">',
    # SVG and MathML payloads (mutation XSS)
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text x="0" y="20">x</text></a></svg>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    # elements that load or navigate
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<form action="javascript:alert(1)"><button>x</button></form>',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="&#x6A;avascript:alert(1)">x</a>',
    "<style>body{display:none}</style>",
    '<link rel="stylesheet" href="data:text/css,body{display:none}">',
    # javascript: and data: links in Markdown
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    "<javascript:alert(1)>",
    "[x][1]\n\n[1]: javascript:alert(1)",
    "[x](&#106;avascript:alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](java\nscript:alert(1))",
    "[x](<java\tscript:alert(1)>)",
    "[x](vbscript:msgbox(1))",
    '[x](<#" onmouseover="alert(1)>)',
    '[x](https://example.org/ "t\\" onmouseover=\\"alert(1)")',
    '<https://example.org/"onmouseover="alert(1)>',
    # chart JSON: closing the <script type=application/json> and JS line terminators
    "</script><script>alert(1)</script>",
    "<!--<script>alert(1)</script>",
    "x\u2028alert(1)\u2029//",
    '"}]}</script><script>alert(1)</script>',
    # template syntax must stay literal
    "{{ 7*7 }}",
    "{% raw %}",
    "{{ ''.__class__.__mro__ }}{# c #}",
    "${7*7}",
    "%{x}<br>%{text}",
    # text that merely looks dangerous must show as written
    "javascript:alert(1)",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "\"'<>&amp;&#39;&quot; < > & ' \"",
    "\u202egnp.exe\u202c \u200b\u200f\ufeff 望城区",
    "\u009b31m红\u0085行\u00ad",  # C1 controls (CSI, NEL) and a soft hyphen: allowed, shown as written
    LONG,
]
N = len(VECTORS)

# An XSS that runs calls one of these (hooked below); none may be called.
HOOKED = ("alert", "confirm", "prompt", "print")

# --------------------------------------------------------------------------- scratch projects


@dataclass(frozen=True)
class Slot:
    """One text field of one file: ``kind`` is markdown, chart (also in chart JSON) or text."""

    file: str  # relative to content/
    path: tuple
    kind: str


FORMS = ("departments/alpha/2021.yaml", "departments/alpha/2022.yaml", "departments/beta/2021.yaml",
         "departments/beta/2022.yaml")  # the last one is new: beta's 2021 form, a year on
DEPARTMENTS = ("departments/alpha/department.yaml", "departments/beta/department.yaml")
INDICATOR_TEXT = ("level3", "content", "target", "actual", "reason", "measures", "note", "base", "unit")


def load_tiny() -> dict[str, dict]:
    """The tiny project's records, plus a 2022 form for beta (more Markdown fields per build)."""
    root = FIXTURES / "tiny" / "content"
    data = {f: yaml.safe_load((root / f).read_text(encoding="utf-8"))
            for f in ("site.yaml", *DEPARTMENTS, *FORMS) if (root / f).exists()}
    data["departments/beta/2022.yaml"] = {**copy.deepcopy(data["departments/beta/2021.yaml"]), "year": 2022}
    for f in FORMS:  # a part not transcribed, so its note is a field to fill
        data[f]["untranscribed"] = [{"part": "other"}]
    return data


def record_slots(data: dict[str, dict]) -> list[Slot]:
    """Every text field of every record of the tiny project (what the schemas call text).

    Not here: ``published`` (a YYYY-MM-DD pattern, see test_published_takes_only_a_date) and
    ``base_url`` (an http(s) pattern, see BASE_URLS). ``code`` and ``extra``
    are not shown on any page; they are still filled, so the build must take them.
    """
    slots = [Slot("site.yaml", ("title",), "text"), Slot("site.yaml", ("description",), "text"),
             Slot("site.yaml", ("publisher",), "text"), Slot("site.yaml", ("extra", "note"), "text")]
    for f in DEPARTMENTS:
        slots.append(Slot(f, ("name",), "chart"))
        slots += [Slot(f, (key,), "text") for key in ("region", "code", "note")]
    for f in FORMS:
        slots += [Slot(f, ("functions",), "markdown"), Slot(f, ("goals", "planned"), "markdown"),
                  Slot(f, ("goals", "achieved"), "markdown")]
        slots += [Slot(f, (key,), "text") for key in ("project", "project_code", "authority", "implementer", "source",
                                                      "notes")]
        slots.append(Slot(f, ("untranscribed", 0, "note"), "text"))
        slots += [Slot(f, ("funds", "sources", j, "name"), "chart")
                  for j in range(len(data[f]["funds"]["sources"]))]
        for i in range(len(data[f]["indicators"])):
            slots += [Slot(f, ("indicators", i, key), "chart" if key == "content" else "text")
                      for key in INDICATOR_TEXT]
    return slots


SLOTS = record_slots(load_tiny())
KINDS = ("markdown", "chart", "text")
PER_BUILD = {kind: sum(1 for s in SLOTS if s.kind == kind) for kind in KINDS}
# enough builds that every vector lands in every kind of field at least once
BUILDS = max(math.ceil(N / n) for n in PER_BUILD.values())


def assignment(build_index: int) -> dict[Slot, str]:
    """Slot j of a kind in build k holds vector (k * slots_of_that_kind + j + offset) mod N."""
    out: dict[Slot, str] = {}
    for offset, kind in enumerate(KINDS):
        kind_slots = [s for s in SLOTS if s.kind == kind]
        for j, slot in enumerate(kind_slots):
            out[slot] = VECTORS[(build_index * len(kind_slots) + j + 7 * offset) % N]
    return out


def set_path(data: dict, path: tuple, value: str) -> None:
    for key in path[:-1]:
        data = data.setdefault(key, {}) if isinstance(key, str) else data[key]
    data[path[-1]] = value


def write_yaml(path: Path, data: dict) -> None:
    """yaml.safe_dump with every string double-quoted: any character round-trips."""
    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style='"'))
    path.write_text(yaml.dump(data, Dumper=Dumper, allow_unicode=True, sort_keys=False, width=10**9),
                    encoding="utf-8")


def make_record_project(target: Path, build_index: int) -> dict[tuple[str, tuple], str]:
    project = copy_project(FIXTURES / "tiny", target)
    data = load_tiny()
    values = assignment(build_index)
    for slot, vector in values.items():
        set_path(data[slot.file], slot.path, vector)
    for f, content in data.items():
        write_yaml(project / "content" / f, content)
    return {(slot.file, slot.path): vector for slot, vector in values.items()}


# base_url must be an http(s) address without quotes, spaces or angle brackets; within that, odd ones
BASE_URLS = ["https://example.org/{{7*7}}", "https://example.org/a&b=%3Cscript%3E&amp;c",
             "https://example.org/${7*7}/?q=1&r=2", "https://example.org/javascript:alert(1)//",
             "https://example.org/%22%3E%3Cscript%3Ealert(1)%3C/script%3E"]


def make_site_project(target: Path, k: int) -> dict[str, str]:
    """Only site.yaml matters here: an empty department folder keeps the pages light."""
    (target / "content" / "departments").mkdir(parents=True)
    values = {"title": VECTORS[k % N], "description": VECTORS[(k + 1) % N],
              "publisher": VECTORS[(k + 2) % N]}
    data = {**values, "profile": "national", "extra": {"note": VECTORS[(k + 3) % N], "list": VECTORS[:3]}}
    if k < len(BASE_URLS):
        data["base_url"] = BASE_URLS[k]
    if "search" in SITE_SCHEMA["properties"]:
        data["search"] = False  # nothing to index here; the record builds cover the search page
    write_yaml(target / "content" / "site.yaml", data)
    return values


@dataclass
class BuiltSite:
    name: str
    out: Path
    values: dict  # (file, key path) -> vector, or site.yaml key -> vector for the sweep

    def value(self, file: str, *path) -> str:
        """The field as the site should show it (records strip surrounding whitespace)."""
        return self.values[(file, tuple(path))].strip()

    def pages(self) -> list[str]:
        return sorted(p.relative_to(self.out).as_posix() for p in self.out.rglob("*.html"))


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> dict[str, BuiltSite]:
    root = tmp_path_factory.mktemp("injection")
    built: dict[str, BuiltSite] = {}
    for k in range(BUILDS):
        values = make_record_project(root / f"records-{k}", k)
        out = build(root / f"records-{k}", root / "www" / f"records-{k}").out_dir
        built[f"records-{k}"] = BuiltSite(f"records-{k}", out, values)
    for k in range(N):
        values = make_site_project(root / f"site-{k}", k)
        out = build(root / f"site-{k}", root / "www" / f"site-{k}").out_dir
        built[f"site-{k}"] = BuiltSite(f"site-{k}", out, values)
    yield built
    shutil.rmtree(root / "www", ignore_errors=True)


@pytest.fixture(scope="module")
def served_url(sites):
    """One http.server on 127.0.0.1 for every build (each in its own folder)."""
    www = next(iter(sites.values())).out.parent
    with serve_folder(www, name="perfsite-injection-http", keep_alive=True) as url:
        yield url


# --------------------------------------------------------------------------- in the browser

HOOKS = """
(() => {
  const calls = [];
  const violations = [];
  Object.defineProperty(window, "__xssCalls", {value: calls});
  Object.defineProperty(window, "__cspViolations", {value: violations});
  for (const name of HOOKED_NAMES) {
    const hook = function () {
      calls.push(name + "(" + Array.from(arguments).map(String).join(", ") + ") at " + location.href);
      return name === "confirm" ? false : (name === "prompt" ? null : undefined);
    };
    Object.defineProperty(window, name, {value: hook, writable: false, configurable: false});
  }
  document.addEventListener("securitypolicyviolation", e => {
    violations.push(e.effectiveDirective + " blocked " + (e.blockedURI || "inline")
                    + " at " + e.sourceFile + ":" + e.lineNumber + " sample " + e.sample);
  });
})();
""".replace("HOOKED_NAMES", json.dumps(HOOKED))

# Every trace content text left in the DOM as markup, as a list of problems (empty: clean page).
DOM_AUDIT = r"""
async siteRoot => {
  // let tasks queued at load run first (autofocus/onfocus, ontoggle, onerror of failed loads)
  await new Promise(resolve => setTimeout(() => requestAnimationFrame(() => setTimeout(resolve, 0)), 0));
  const bad = [];
  const where = el => {
    let s = el.nodeName.toLowerCase();
    for (let p = el.parentElement; p && p !== document.documentElement; p = p.parentElement) {
      s = p.nodeName.toLowerCase() + (p.id ? "#" + p.id : "") + " > " + s;
    }
    return s;
  };
  // what the theme itself writes outside charts, Markdown narratives and the search widget
  const SITE_TAGS = new Set(["a", "p", "header", "nav", "ul", "li", "main", "footer", "div", "h1", "h2", "h3",
    "section", "dl", "dt", "dd", "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td", "span",
    "strong", "small", "code", "br", "article", "figure", "figcaption", "button", "script", "ol"]);
  const MARKDOWN_TAGS = new Set(["p", "ol", "ul", "li", "em", "strong", "code", "pre", "blockquote", "a",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "br"]);
  const FORBIDDEN = new Set(["iframe", "frame", "frameset", "object", "embed", "applet", "base", "form", "input",
    "textarea", "select", "img", "image", "video", "audio", "source", "track", "math", "details", "template",
    "noscript", "marquee", "xmp", "plaintext", "portal", "foreignobject", "use", "animate", "set", "handler"]);
  const URL_ATTRS = new Set(["href", "xlink:href", "src", "action", "formaction", "data", "poster",
    "background", "ping", "lowsrc", "dynsrc", "codebase", "archive", "manifest", "to", "from", "values"]);
  const BAD_SCHEMES = ["javascript", "vbscript", "livescript", "data", "file", "blob", "filesystem"];
  const searchPage = !!document.querySelector("main > #search");
  // the theme's own forms: the header search box and (search page) Pagefind's widget
  const ownForm = el => el.matches("header form.site-search, header form.site-search *, #search .pagefind-ui__form,"
                                   + " #search .pagefind-ui__form *, main > div.table-filter > label,"
                                   + " main > div.table-filter > label > input.filter-text,"
                                   + " main > div.table-filter > label > input.filter-errors"
                                   // staff details of a finding, collapsed: plain text in a summary's box
                                   + ", td > details.technical, td > details.technical > summary");
  const ownAttr = (el, name, value) =>
    (el.matches("link[rel=icon]") && name === "href" && value === "data:,")  // 404.html
    || (el.matches("#search form.pagefind-ui__form") && name === "action" && value === "javascript:void(0);");
  for (const el of document.querySelectorAll("*")) {
    const tag = el.nodeName.toLowerCase();
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on")) bad.push("event-handler attribute " + name + " on " + where(el));
      if (name === "srcdoc") bad.push("srcdoc on " + where(el));
      if (URL_ATTRS.has(name) || name.endsWith(":href")) {
        // browsers drop these characters from URLs before reading the scheme
        const v = attr.value.replace(/[\u0000-\u0020\u007f-\u00a0\u200b-\u200f\u2028\u2029\ufeff]/g, "");
        const scheme = ((v.match(/^([a-z][a-z0-9+.\-]*):/i) || [])[1] || "").toLowerCase();
        if (BAD_SCHEMES.includes(scheme) && !ownAttr(el, name, attr.value)) {
          bad.push(name + "=" + JSON.stringify(attr.value.slice(0, 80)) + " on " + where(el));
        }
      }
      if (name === "style" && /expression|javascript|behavior|url\s*\(\s*['"]?[^#'"\s]/i.test(attr.value)) {
        bad.push("style attribute " + JSON.stringify(attr.value.slice(0, 80)) + " on " + where(el));
      }
    }
    const ownNoscript = tag === "noscript" && searchPage && el.parentElement === document.querySelector("main");
    if (FORBIDDEN.has(tag) && !ownForm(el) && !ownNoscript) bad.push("<" + tag + "> at " + where(el));
    if (tag === "meta" && el.httpEquiv && el.httpEquiv.toLowerCase() !== "content-security-policy") {
      bad.push("<meta http-equiv=" + el.httpEquiv + "> at " + where(el));
    }
    if (tag === "script") {
      const ownSrc = el.src.startsWith(siteRoot + "assets/")
                     || (searchPage && el.src === siteRoot + "pagefind/pagefind-ui.js");
      const own = el.src ? ownSrc && !el.textContent.trim() && el.parentElement === document.body
                : el.type === "application/json" && /^chart-[a-z-]+-spec$/.test(el.id)
                  && el.parentElement.classList.contains("chart-body");
      if (!own) {
        bad.push("foreign <script> " + (el.src || JSON.stringify(el.textContent.slice(0, 80))) + " at " + where(el));
      } else if (!el.src) {
        try { JSON.parse(el.textContent); } catch (e) { bad.push("chart spec #" + el.id + " is not JSON: " + e); }
      }
    }
    if (tag === "style") {
      const inHead = el.parentElement === document.head;
      const plotly = inHead && (el.id === "plotly.js-style-global" || /^[0-9a-f]{64}$/.test(el.id));
      const inlined = inHead && !el.id && location.pathname.endsWith("/404.html");
      if (!plotly && !inlined) bad.push("foreign <style> at " + where(el) + ": " + el.textContent.slice(0, 80));
    }
    if (!document.body.contains(el) || el === document.body || el.closest(".chart-plot, #js-plotly-tester, #search")
        || ownForm(el) || ownNoscript) {
      continue;  // <head> (checked below), Plotly's SVGs and Pagefind's widget: URLs and attributes checked above
    }
    const narrative = el.closest(".narrative") && !el.matches(
      ".narrative, .narrative > h2, .goal-columns, .goal-columns > div, .goal-columns > div > h3");
    if (narrative ? !MARKDOWN_TAGS.has(tag) : !SITE_TAGS.has(tag)) bad.push("unexpected <" + tag + "> at " + where(el));
    if (tag === "button" && !el.matches("table.sortable > thead > tr > th > button")) {
      bad.push("foreign <button> at " + where(el));
    }
    if (narrative && tag === "a" && el.hasAttribute("href")
        && !/^(https?:|mailto:|#|\/|\.\/|\.\.\/|[^:\/?#]+([\/?#]|$))/i.test(el.getAttribute("href"))) {
      bad.push("narrative link " + JSON.stringify(el.getAttribute("href")));
    }
  }
  for (const el of document.head.children) {
    const tag = el.nodeName.toLowerCase();
    if (!["meta", "link", "title", "style"].includes(tag)) bad.push("<" + tag + "> in <head>");
    if (tag === "link" && !["icon", "stylesheet", "alternate"].includes(el.rel)) bad.push("<link rel=" + el.rel + ">");
  }
  const titles = document.querySelectorAll("title").length;
  if (titles !== 1) bad.push(titles + " <title> elements");
  const csp = document.querySelectorAll('meta[http-equiv="Content-Security-Policy"]');
  const scriptSrc = csp.length === 1 && (csp[0].content.match(/(?:^|;)\s*script-src ([^;]*)/) || [])[1];
  const allowed = searchPage ? ["'self'", "'self' 'wasm-unsafe-eval'"] : ["'self'"];
  if (csp.length !== 1 || csp[0].parentElement !== document.head || !allowed.includes(scriptSrc)) {
    bad.push("CSP meta missing, repeated or script-src changed: " + (csp[0] && csp[0].content));
  }
  return bad;
}
"""

# What each probe [selector, n, mode] finds: textContent, first/last text node, or an attribute.
READ_TEXTS = r"""
probes => probes.map(([selector, n, mode]) => {
  if (n < 0) return Array.from(document.querySelectorAll(selector), el => el.textContent);
  const el = document.querySelectorAll(selector)[n];
  if (!el) return null;
  if (mode === "first-text") return el.firstChild && el.firstChild.nodeType === 3 ? el.firstChild.data : null;
  if (mode === "last-text") return el.lastChild && el.lastChild.nodeType === 3 ? el.lastChild.data : null;
  if (mode.startsWith("attr:")) return el.getAttribute(mode.slice(5));
  if (mode === "text-only" && el.children.length) return "<" + el.children.length + " element children>";
  if (mode === "visible") return el.innerText;
  return el.textContent;
})
"""


class Watch(PageWatcher):
    """Everything an XSS would leave on a page: hooked calls, dialogs, CSP reports, errors, failed loads."""

    init_script = HOOKS

    def __init__(self, page: Page):
        super().__init__(page)
        page.on("dialog", self._dialog)

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type in ("error", "warning"):
            self.items.append(f"console {msg.type}: {msg.text[:300]}")

    def _pageerror(self, error: Error) -> None:
        self.items.append(f"pageerror: {error.message[:300]}")

    def _dialog(self, dialog: Dialog) -> None:
        self.items.append(f"dialog {dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _requestfailed(self, request: Request) -> None:
        if request.failure != "net::ERR_ABORTED":  # the favicon of a page we already navigated away from
            self.items.append(f"request failed: {request.url} ({request.failure})")

    def collect(self) -> list[str]:
        calls, violations = self.page.evaluate("() => [window.__xssCalls, window.__cspViolations]")
        items = self.items + [f"called {c}" for c in calls] + [f"securitypolicyviolation {v}" for v in violations]
        self.items = []
        return items


def open_checked(page: Page, watch: Watch, served_url: str, site: BuiltSite, rel: str) -> list[str]:
    """Load one page, let its charts draw, and return every sign of injected markup or script."""
    response = page.goto(f"{served_url}{site.name}/{rel}", wait_until="load")
    problems = [] if response is not None and response.status == 200 else [f"HTTP {response and response.status}"]
    wait_for_charts(page)
    problems += page.evaluate(DOM_AUDIT, f"{served_url}{site.name}/")
    return problems + watch.collect()


def short(text: str | None, limit: int = 90) -> str:
    return repr(text if text is None or len(text) <= limit else text[:limit] + f"…(+{len(text) - limit})")


def watched_page(browser: Browser, bypass_csp: bool):
    context = browser.new_context(bypass_csp=bypass_csp)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return context, page, Watch(page)


@pytest.fixture(scope="module")
def csp_page(browser: Browser):
    """One page under the site's own CSP for the whole module (plotly.js stays compiled between loads)."""
    context, page, watch = watched_page(browser, bypass_csp=False)
    yield page, watch
    context.close()


@pytest.fixture(scope="module")
def bypassed_page(browser: Browser):
    """One page with the CSP switched off: escaping alone must keep every vector inert."""
    context, page, watch = watched_page(browser, bypass_csp=True)
    yield page, watch
    context.close()


# --------------------------------------------------------------------------- where each field shows

# selector, index (-1: all), read mode, compare (eq, endswith, in, visible), expected, what it is
Probe = tuple[str, int, str, str, str, str]
SITE_FILE = "site.yaml"


def site_probes(rel: str, title: str, description: str, publisher: str) -> list[Probe]:
    probes: list[Probe] = [(".site-title a", 0, "text-only", "eq", title, "site.title in the header")]
    if publisher:
        probes.append((".site-publisher", 0, "text-only", "eq", publisher, "site.publisher in the header"))
    if description:
        probes.append(('meta[name="description"]', 0, "attr:content", "eq", description, "site.description (meta)"))
    if rel == "index.html":
        probes.append(("main h1", 0, "text-only", "eq", title, "site.title as h1"))
        probes.append(("head > title", 0, "text", "eq", title, "site.title as <title>"))
        if description:
            probes.append(("p.lead", 0, "text-only", "eq", description, "site.description as lead"))
    else:
        probes.append(("head > title", 0, "text", "endswith", title, "site.title in <title>"))
    return probes


def record_probes(site: BuiltSite, rel: str) -> list[Probe]:
    """Every place a record field shows on one page of a records build."""
    v = site.value
    title = v(SITE_FILE, "title")
    probes = site_probes(rel, title, v(SITE_FILE, "description"), v(SITE_FILE, "publisher"))
    names = {slug: v(f"departments/{slug}/department.yaml", "name") for slug in ("alpha", "beta")}
    if rel == "departments/index.html":
        for i, slug in enumerate(("alpha", "beta")):
            probes.append(("table.data tbody th[scope=row] a", i, "text-only", "eq", names[slug], f"{slug} name"))
            probes.append(("table.data tbody td:nth-of-type(1)", i, "text-only", "eq",
                           v(f"departments/{slug}/department.yaml", "region"), f"{slug} region"))
    if match := re.fullmatch(r"departments/(alpha|beta)/index.html", rel):
        slug = match.group(1)
        f = f"departments/{slug}/department.yaml"
        page_title = title if names[slug] == title else f"{names[slug]} · {title}"
        # the tiny departments are fictional: a space and the 虚构 tag follow the name
        probes += [("main h1", 0, "first-text", "eq", names[slug] + " ", "department name as h1"),
                   ("head > title", 0, "text", "eq", page_title, "department name in <title>"),
                   ("main > p:not(.fictional-banner):not(.note)", 0, "last-text", "endswith", v(f, "region"),
                    "region"),
                   ("main > p.note", 0, "text-only", "eq", v(f, "note"), "department note")]
    if match := re.fullmatch(r"(\d{4})/index.html", rel):
        for slug in ("alpha", "beta"):
            probes.append((f'#ranking th[scope=row] a[href*="/{slug}/"]', 0, "text-only", "eq", names[slug],
                           f"{slug} name in the ranking"))
            probes.append(("#chart-ranking ~ .table-scroll table tbody th", -1, "text-only", "in", names[slug],
                           f"{slug} name in the ranking chart's table"))
    if match := re.fullmatch(r"departments/(alpha|beta)/(\d{4})/index.html", rel):
        slug, year = match.groups()
        f = f"departments/{slug}/{year}.yaml"
        probes += [(".form-header dd.department-name", 0, "text-only", "eq", names[slug],
                    "department name in the form header"),
                   (".form-header dd.project", 0, "text-only", "eq", v(f, "project"), "project in the form header"),
                   (".form-header dd.project-code", 0, "text-only", "eq", v(f, "project_code"), "project code"),
                   (".form-header dd.authority", 0, "text-only", "eq", v(f, "authority"), "主管部门"),
                   (".form-header dd.implementer", 0, "text-only", "eq", v(f, "implementer"), "实施单位"),
                   ("#untranscribed li", 0, "text-only", "endswith", v(f, "untranscribed", 0, "note"),
                    "untranscribed part's note"),
                   (".breadcrumb a", 1, "text-only", "eq", names[slug], "department name in the breadcrumb"),
                   ("h1 small", 0, "last-text", "endswith", v(f, "project"), "project"),
                   (".provenance p:first-child", 0, "last-text", "eq", v(f, "source"), "source"),
                   (".provenance p:last-child", 0, "last-text", "eq", v(f, "notes"), "notes")]
        sources = [s for s in SLOTS if s.file == f and s.path[:2] == ("funds", "sources")]
        for j, slot in enumerate(sources):
            name = v(f, *slot.path)
            probes.append(("table.funds tbody tr:not(.total-row) th", j, "text-only", "eq", name, f"source {j} name"))
            probes.append(("#chart-execution ~ .table-scroll table tbody th", j, "text-only", "eq", name,
                           f"source {j} name in the chart's table"))
        columns = ("level3", "content", "actual", "unit", "reason", "measures", "note")
        for i in sorted({s.path[1] for s in SLOTS if s.file == f and s.path[0] == "indicators"}):
            probes += [(f"#indicator-{i} > td[data-field={key}]", 0, "text-only", "eq", v(f, "indicators", i, key),
                        f"indicators[{i}].{key}") for key in columns]
            # the target cell ends with its base, in a span of its own
            probes += [(f"#indicator-{i} > td[data-field=target]", 0, "first-text", "eq",
                        v(f, "indicators", i, "target"), f"indicators[{i}].target"),
                       (f"#indicator-{i} > td[data-field=target] > span.base", 0, "text", "in",
                        v(f, "indicators", i, "base"), f"indicators[{i}].base")]
            # and on screen, as a reader sees it (innerText: rendered, visible text only)
            probes += [(f"#indicator-{i} > td[data-field={key}]", 0, "visible", "visible",
                        v(f, "indicators", i, key), f"indicators[{i}].{key} on screen") for key in columns]
        probes += [(".form-header dd.department-name", 0, "visible", "visible", names[slug],
                    "department name on screen"),
                   ("table.funds tbody tr:not(.total-row) th", 0, "visible", "visible",
                    v(f, "funds", "sources", 0, "name"), "source 0 name on screen")]
    return probes


VISIBLE_SPACE = re.compile(r"[ \t\n\r\f]+")


def check_probes(page: Page, probes: list[Probe]) -> list[str]:
    found = page.evaluate(READ_TEXTS, [[selector, n, mode] for selector, n, mode, *_ in probes])
    bad = []
    for (selector, n, _mode, compare, expected, what), got in zip(probes, found, strict=True):
        if compare == "visible":  # as rendered: CSS collapses runs of white space
            got, expected = (None if got is None else VISIBLE_SPACE.sub(" ", got).strip(),
                             VISIBLE_SPACE.sub(" ", expected).strip())
            compare = "eq"
        if compare == "in":
            ok = expected in got
        else:
            ok = got == expected if compare == "eq" else got is not None and got.endswith(expected)
        if not ok:
            bad.append(f"{what} ({selector} #{n}): expected {short(expected)}, shown {short(got)}")
        elif compare != "in" and "{{" in expected and "49" in got.replace(expected, ""):
            bad.append(f"{what}: template syntax evaluated: {short(got)}")
    return bad


# Markdown rewrites some text (entities decode, emphasis); the payload words must stay visible text,
# or sit inside the (checked, escaped) href or title of a link Markdown accepted as safe.
PAYLOAD_WORDS = ("alert(1)", "confirm(1)", "prompt(1)", "javascript:", "onerror", "onload", "<script>", "{{ 7*7 }}")
NARRATIVES = {("functions",): ".narrative:not(.goals)", ("goals", "planned"): ".goal-columns > div:nth-child(1)",
              ("goals", "achieved"): ".goal-columns > div:nth-child(2)"}


def check_markdown(page: Page, site: BuiltSite, rel: str) -> list[str]:
    match = re.fullmatch(r"departments/(alpha|beta)/(\d{4})/index.html", rel)
    if not match:
        return []
    f = "departments/{}/{}.yaml".format(*match.groups())
    bad = []
    for path, selector in NARRATIVES.items():
        vector = site.value(f, *path)
        shown = page.evaluate("""s => {
            const el = document.querySelector(s);
            if (!el) return null;
            const links = Array.from(el.querySelectorAll("a"), a => [a.getAttribute("href"), a.title].join(" "));
            return [el.textContent, ...links].join(" ");
          }""", selector)
        if shown is None:
            bad.append(f"{'.'.join(path)}: nothing at {selector}")
            continue
        for word in PAYLOAD_WORDS:
            if shown.count(word) < vector.count(word):
                bad.append(f"{'.'.join(path)}: {word!r} is no longer visible text "
                           f"(vector {short(vector)}, shown {short(shown)})")
    return bad


# --------------------------------------------------------------------------- the tests


def test_vectors_are_many_distinct_and_land_in_every_kind_of_field():
    assert N >= 35 and len(set(VECTORS)) == N
    for kind in KINDS:
        seen = {v for k in range(BUILDS) for s, v in assignment(k).items() if s.kind == kind}
        assert seen == set(VECTORS), f"{kind}: {N - len(seen)} vector(s) never used"
    for k in range(BUILDS):  # within a build, fields of a kind hold different vectors while there are any
        by_kind: dict[str, list[str]] = {}
        for slot, vector in assignment(k).items():
            by_kind.setdefault(slot.kind, []).append(vector)
        for kind, vectors in by_kind.items():
            assert len(set(vectors)) == min(len(vectors), N), (k, kind)


def test_slots_cover_every_text_field_of_the_schemas():
    """The browser tests put vectors in every free-text field the schemas define (a field added
    to a schema must get a slot here too); test_escaping checks the same fields without a browser."""
    from test_escaping import REPORT_NAMES, SITE_NAMES, text_paths

    from generator.read.schema import DEPARTMENT_SCHEMA, REPORT_SCHEMA

    def pattern(slot: Slot) -> tuple:
        return tuple("*" if isinstance(key, int) else key for key in slot.path)

    wanted = {"site.yaml": set(text_paths(SITE_SCHEMA)) - SITE_NAMES,
              **{f: set(text_paths(DEPARTMENT_SCHEMA)) for f in DEPARTMENTS},
              **{f: set(text_paths(REPORT_SCHEMA)) - REPORT_NAMES for f in FORMS}}
    for file, paths in wanted.items():
        covered = {pattern(s) for s in SLOTS if s.file == file}
        assert paths - covered == set(), (file, sorted(paths - covered))


def check_record_pages(page: Page, watch: Watch, served_url: str, site: BuiltSite, pages: list[str]) -> list[str]:
    failures = []
    for rel in pages:
        problems = open_checked(page, watch, served_url, site, rel)
        problems += check_probes(page, record_probes(site, rel))
        problems += check_markdown(page, site, rel)
        charts = page.locator(".chart-plot").count()
        drawn = rendered_chart_count(page)
        if rel in CHART_PAGES and not charts:
            problems.append("no charts on a page that should have them")
        if drawn != charts:
            problems.append(f"{drawn} of {charts} charts drew their SVG")
        failures += [f"{rel}: {p}" for p in problems]
    return failures


CHART_PAGES = {"index.html", "2021/index.html", "2022/index.html", "departments/alpha/index.html",
               "departments/beta/index.html", "departments/alpha/2021/index.html",
               "departments/alpha/2022/index.html", "departments/beta/2021/index.html",
               "departments/beta/2022/index.html"}
BUILD_IDS = [f"build{k}" for k in range(BUILDS)]


@pytest.mark.browser
@pytest.mark.parametrize("k", range(BUILDS), ids=BUILD_IDS)
def test_record_fields_never_run_script_and_show_escaped(csp_page, sites, served_url, k):
    """Every page of the build under the site's CSP: index, years, departments, forms, quality, 404 (+ search)."""
    page, watch = csp_page
    site = sites[f"records-{k}"]
    pages = site.pages()
    assert CHART_PAGES | {"departments/index.html", "quality/index.html", "404.html"} <= set(pages), pages
    failures = check_record_pages(page, watch, served_url, site, pages)
    assert failures == [], f"{len(failures)} problem(s) in {site.name}:\n" + "\n".join(failures)


@pytest.mark.browser
@pytest.mark.parametrize("k", range(BUILDS), ids=BUILD_IDS)
def test_record_fields_stay_inert_without_csp(bypassed_page, sites, served_url, k):
    """The department and form pages (where every record field shows) with the CSP switched off."""
    page, watch = bypassed_page
    site = sites[f"records-{k}"]
    pages = [rel for rel in site.pages() if rel.startswith("departments/") and rel != "departments/index.html"]
    assert len(pages) == 6, pages
    failures = check_record_pages(page, watch, served_url, site, pages)
    assert failures == [], f"{len(failures)} problem(s) in {site.name}:\n" + "\n".join(failures)


@pytest.mark.browser
def test_site_yaml_fields_never_run_script_and_show_escaped(csp_page, sites, served_url):
    """Every vector as site title, as description and as publisher (one light build per vector)."""
    page, watch = csp_page
    failures = []
    for k in range(N):
        site = sites[f"site-{k}"]
        values = {key: value.strip() for key, value in site.values.items()}
        problems = open_checked(page, watch, served_url, site, "index.html")  # where all three show
        problems += check_probes(page, site_probes("index.html", **values))
        if k < len(BASE_URLS):  # 404.html links absolutely, from base_url: escaped into href as written
            problems += open_checked(page, watch, served_url, site, "404.html")
            probes = site_probes("404.html", **values)
            home = BASE_URLS[k].rstrip("/") + "/index.html"
            probes += [(selector, 0, "attr:href", "eq", home, f"base_url in {selector}")
                       for selector in (".site-title a", "main a")]
            problems += check_probes(page, probes)
        failures += [f"{site.name}: {p}" for p in problems]
    assert failures == [], f"{len(failures)} problem(s):\n" + "\n".join(failures)


SEARCH_QUERIES = ["alert", "script", "onerror", "javascript", "svg", "iframe"]


@pytest.mark.browser
def test_search_results_show_vectors_as_text(csp_page, sites, served_url):
    """The search page (when the build has one) lists hostile record text as text."""
    page, watch = csp_page
    site = sites["records-0"]
    assert "search/index.html" in site.pages()  # search is on by default
    failures, found = [], 0
    for query in SEARCH_QUERIES:
        problems = open_checked(page, watch, served_url, site, f"search/index.html?q={query}")
        page.wait_for_selector(".pagefind-ui__message", timeout=TIMEOUT_MS)
        page.wait_for_function("() => !document.querySelector('.pagefind-ui__loading')", timeout=TIMEOUT_MS)
        results = page.locator(".pagefind-ui__result").count()
        problems += page.evaluate(DOM_AUDIT, f"{served_url}{site.name}/") + watch.collect()
        found += results
        failures += [f"q={query}: {p}" for p in problems]
    assert failures == [], f"{len(failures)} problem(s):\n" + "\n".join(failures)
    assert found > 0, "no results for any query: the vectors were not indexed, so this proved nothing"


@pytest.mark.browser
def test_csp_blocks_inline_script_but_lets_charts_draw(page: Page, sites, served_url):
    """The policy is real: inline script, handler and javascript: link added to a built page are refused."""
    page.set_default_timeout(TIMEOUT_MS)
    watch = Watch(page)
    site = sites["records-0"]
    page.goto(f"{served_url}{site.name}/departments/alpha/2021/index.html", wait_until="load")
    wait_for_charts(page)
    assert page.locator(".chart-plot:has(svg.main-svg)").count() == page.locator(".chart-plot").count() >= 2

    csp = page.locator('meta[http-equiv="Content-Security-Policy"]').get_attribute("content")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["script-src"] == ["'self'"], csp
    assert directives["object-src"] == ["'none'"] and directives["base-uri"] == ["'none'"], csp
    assert "'unsafe-eval'" not in csp, csp
    assert watch.collect() == []

    page.evaluate("""() => {
      const s = document.createElement("script");
      s.textContent = "alert('inline script ran')";
      document.body.appendChild(s);
      const d = document.createElement("div");
      d.innerHTML = '<img src="data:," onerror="alert(\\'handler ran\\')">';
      document.body.appendChild(d);
      const a = document.createElement("a");
      a.href = "javascript:alert('link ran')";
      document.body.appendChild(a);
      a.click();
    }""")
    page.wait_for_function("() => window.__cspViolations.length >= 3", timeout=TIMEOUT_MS)
    assert page.evaluate("() => window.__xssCalls") == []
    blocked = " ".join(page.evaluate("() => window.__cspViolations"))
    assert "script-src-elem" in blocked and "script-src-attr" in blocked, blocked


def test_feeds_and_sitemaps_stay_well_formed_xml(sites):
    """Record and site text also reach feed.xml and sitemap.xml: escaped, they parse and read back."""
    ns = {"a": "http://www.w3.org/2005/Atom"}
    failures = []
    for site in sites.values():
        try:
            feed = ET.parse(site.out / "feed.xml").getroot()
            if (site.out / "sitemap.xml").exists():
                ET.parse(site.out / "sitemap.xml")
        except ET.ParseError as exc:
            failures.append(f"{site.name}: {exc}")
            continue
        records = site.name.startswith("records-")
        title = site.value(SITE_FILE, "title") if records else site.values["title"].strip()
        if feed.find("a:title", ns).text != title:
            failures.append(f"{site.name}: feed title {short(feed.find('a:title', ns).text)} != {short(title)}")
        if records:
            names = {slug: site.value(f"departments/{slug}/department.yaml", "name") for slug in ("alpha", "beta")}
            expected = sorted(f"{names[f.split('/')[1]]} {f[-9:-5]}" for f in FORMS)
            titles = sorted(e.find("a:title", ns).text for e in feed.findall("a:entry", ns))
            if titles != expected:
                failures.append(f"{site.name}: entry titles {titles!r}")
    assert failures == [], "\n".join(failures)



@pytest.mark.parametrize("control", ["\x1b[31m", "\x01", "\x00", "\x7f", "\ufffe"], ids=repr)
def test_control_characters_are_refused(tmp_path, control):
    """C0 controls cannot be shown and are not XML (feed.xml): validation refuses them in every text field."""
    from generator.errors import ContentError
    from generator.score.check import check_project

    project = copy_project(FIXTURES / "tiny", tmp_path / "tiny")
    site = {"title": f"站点{control}", "profile": "national"}
    write_yaml(project / "content" / "site.yaml", site)
    with pytest.raises(ContentError, match="control character"):
        check_project(project)
    write_yaml(project / "content" / "site.yaml", {"title": "站点", "profile": "national"})
    write_yaml(project / "content" / "departments" / "alpha" / "department.yaml",
               {"name": f"甲{control}单位", "fictional": True})
    with pytest.raises(ContentError, match="control character"):
        check_project(project)


def test_published_takes_only_a_date(tmp_path):
    """``published`` is the one record text field with a pattern: no vector gets through to a page or feed."""
    from generator.errors import ContentError
    from generator.score.check import check_project

    project = copy_project(FIXTURES / "tiny", tmp_path / "tiny")
    form = project / "content" / "departments" / "beta" / "2021.yaml"
    data = yaml.safe_load(form.read_text(encoding="utf-8"))
    accepted = []
    for vector in [*VECTORS, "2022-01-01\n<script>alert(1)</script>", "2022-01-01\n"]:
        write_yaml(form, {**data, "published": vector})
        try:
            check_project(project)
        except ContentError as exc:
            assert "published" in str(exc), str(exc)
        else:
            accepted.append(vector)
    assert accepted == []


@pytest.mark.browser
def test_chart_labels_show_record_text_as_written(csp_page, sites, served_url):
    """The chart labels must read like the data table beside them: markup in record text shown as text."""
    page, watch = csp_page
    name = '<a href="https://evil.example/">点此领取补贴</a><br><b>甲</b>'
    source = '<span style="font-size:40px;fill:red">财政</span>拨款'
    content = "<i>服务</i>人数"
    www = next(iter(sites.values())).out.parent
    project = copy_project(FIXTURES / "tiny", www.parent / "chart-markup-project")
    write_yaml(project / "content" / "departments" / "alpha" / "department.yaml", {"name": name, "fictional": True})
    form = project / "content" / "departments" / "alpha" / "2021.yaml"
    data = yaml.safe_load(form.read_text(encoding="utf-8"))
    data["funds"]["sources"][0]["name"] = source
    data["indicators"][0]["content"] = content
    write_yaml(form, data)
    build(project, www / "chart-markup")
    site = BuiltSite("chart-markup", www / "chart-markup", {})
    labels = "s => Array.from(document.querySelectorAll(s), el => el.textContent)"

    assert open_checked(page, watch, served_url, site, "2021/index.html") == []  # no script, nothing blocked
    ranking = page.evaluate(labels, "#chart-ranking .ytick text")
    links = page.locator(".chart-plot a").count()
    assert open_checked(page, watch, served_url, site, "departments/alpha/2021/index.html") == []
    execution = page.evaluate(labels, "#chart-execution .ytick text")
    scores = page.evaluate(labels, "#chart-scores .ytick text, #chart-scores .ytick2 text")
    links += page.locator(".chart-plot a").count()
    # today: ranking shows '点此领取补贴甲' (a link to evil.example and bold text), execution '财政拨款' in 40px red
    assert (name in ranking, source in execution, content in scores, links) == (True, True, True, 0), (
        f"ranking labels {ranking}, execution labels {execution}, score labels {scores}, {links} link(s) in charts")


def test_base_url_with_a_trailing_newline_is_refused(tmp_path):
    """A line break in base_url would split every sitemap and feed address: refused, located."""
    from generator.errors import ContentError

    project = copy_project(FIXTURES / "tiny", tmp_path / "tiny")
    write_yaml(project / "content" / "site.yaml", {"title": "站点", "profile": "national",
                                                   "base_url": "https://example.org\n"})
    with pytest.raises(ContentError) as info:
        build(project)
    assert [str(p) for p in info.value.problems] == [
        'content/site.yaml:3:13: base_url: expected a full web address starting with http:// or https://, '
        'got "https://example.org\\n"']
    assert not (project / "site").exists()

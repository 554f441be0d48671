"""Hostile record text in real Chromium: no injected script runs and the text shows escaped.

Every text field of a record (department.yaml and <year>.yaml) and of site.yaml holds an
XSS vector. To keep builds few, each build puts a different vector in each field and the
next build rotates them, so that across the builds every vector lands in a Markdown field
(职能概述, 年度目标), in a text field that also travels inside a chart's JSON spec
(department name, fund source name, indicator content) and in a plain text field; a
second, cheap sweep puts every vector in every site.yaml text field.

Each page is opened twice: under the site's own Content-Security-Policy (which must block
anything that slipped through and must still let the charts draw) and with the CSP
bypassed, so escaping alone is also shown to hold. Before any page script runs, init
scripts hook alert/confirm/prompt/print and record ``securitypolicyviolation`` events.
"""

from __future__ import annotations

import functools
import math
import re
import shutil
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, copy_project
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Error, Page

from generator.build import build

TIMEOUT_MS = 60_000
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
    "\x1b[31m红\x1b[0m",
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

    @property
    def label(self) -> str:
        return self.file + ":" + ".".join(map(str, self.path))


FORMS = ("departments/alpha/2021.yaml", "departments/alpha/2022.yaml", "departments/beta/2021.yaml")
DEPARTMENTS = ("departments/alpha/department.yaml", "departments/beta/department.yaml")
INDICATOR_TEXT = ("level3", "content", "target", "actual", "reason", "measures", "note")


def load_tiny() -> dict[str, dict]:
    root = FIXTURES / "tiny" / "content"
    return {f: yaml.safe_load((root / f).read_text(encoding="utf-8"))
            for f in ("site.yaml", *DEPARTMENTS, *FORMS)}


def record_slots(data: dict[str, dict]) -> list[Slot]:
    """Every text field of every record of the tiny project (what the schema calls text)."""
    slots = [Slot("site.yaml", ("title",), "text"), Slot("site.yaml", ("description",), "text"),
             Slot("site.yaml", ("publisher",), "text"), Slot("site.yaml", ("extra", "note"), "text")]
    for f in DEPARTMENTS:
        slots.append(Slot(f, ("name",), "chart"))
        slots += [Slot(f, (key,), "text") for key in ("region", "code", "note")]
    for f in FORMS:
        slots += [Slot(f, ("functions",), "markdown"), Slot(f, ("goals", "planned"), "markdown"),
                  Slot(f, ("goals", "achieved"), "markdown")]
        slots += [Slot(f, (key,), "text") for key in ("project", "source", "notes")]
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


def make_record_project(target: Path, build_index: int) -> dict[Slot, str]:
    project = copy_project(FIXTURES / "tiny", target)
    data = load_tiny()
    values = assignment(build_index)
    for slot, vector in values.items():
        set_path(data[slot.file], slot.path, vector)
    for f, content in data.items():
        write_yaml(project / "content" / f, content)
    return {(slot.file, slot.path): vector for slot, vector in values.items()}


def make_site_project(target: Path, k: int) -> dict[str, str]:
    """Only site.yaml matters here: an empty department folder keeps the pages light."""
    (target / "content" / "departments").mkdir(parents=True)
    values = {"title": VECTORS[k % N], "description": VECTORS[(k + 1) % N],
              "publisher": VECTORS[(k + 2) % N]}
    write_yaml(target / "content" / "site.yaml",
               {**values, "profile": "national", "extra": {"note": VECTORS[(k + 3) % N]}})
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


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def base_url(sites):
    """One http.server on 127.0.0.1 for every build (each in its own folder)."""
    www = next(iter(sites.values())).out.parent
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(www)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="perfsite-injection-http", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --------------------------------------------------------------------------- in the browser

HOOKS = """
(() => {
  const calls = [];
  const violations = [];
  Object.defineProperty(window, "__xssCalls", {value: calls});
  Object.defineProperty(window, "__cspViolations", {value: violations});
  for (const name of %s) {
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
""" % list(HOOKED)

ALL_CHARTS_RENDERED = """() => Array.from(document.querySelectorAll(".chart-plot"))
  .every(el => el.getAttribute("data-rendered") === "true" && el.querySelector("svg.main-svg"))"""

# Whatever content text did to the DOM, as a list of problems (empty when the page is clean).
DOM_AUDIT = r"""
() => {
  const bad = [];
  const where = el => {
    let s = el.nodeName.toLowerCase();
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      s = p.nodeName.toLowerCase() + (p.id ? "#" + p.id : "") + " > " + s;
    }
    return s;
  };
  const assets = new URL("assets/", document.querySelector('link[rel="stylesheet"]')?.href
                         || document.baseURI).href;
  const siteRoot = new URL("../", assets).href;
  // elements the theme itself writes outside charts and Markdown narratives
  const SITE_TAGS = new Set(["html", "head", "body", "meta", "title", "link", "style", "script", "a", "p",
    "header", "nav", "ul", "li", "main", "footer", "div", "h1", "h2", "h3", "section", "dl", "dt", "dd",
    "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td", "span", "strong", "small", "code", "br",
    "article", "figure", "figcaption", "button"]);
  const MARKDOWN_TAGS = new Set(["p", "ol", "ul", "li", "em", "strong", "code", "pre", "blockquote", "a",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "br"]);
  const FORBIDDEN = ["iframe", "frame", "frameset", "object", "embed", "applet", "base", "form", "input",
    "textarea", "select", "img", "image", "video", "audio", "source", "track", "math", "details", "template",
    "noscript", "marquee", "xmp", "plaintext", "portal", "foreignobject", "use", "animate", "set", "handler"];
  const URL_ATTRS = new Set(["href", "xlink:href", "src", "srcdoc", "action", "formaction", "data", "poster",
    "background", "ping", "lowsrc", "dynsrc", "codebase", "archive", "manifest", "content", "to", "from",
    "values"]);
  for (const el of document.querySelectorAll("*")) {
    const tag = el.nodeName.toLowerCase();
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on")) bad.push("event-handler attribute " + name + " on " + where(el));
      if (name === "srcdoc") bad.push("srcdoc on " + where(el));
      if (URL_ATTRS.has(name) || name.endsWith(":href")) {
        const v = attr.value.replace(/[\u0000-\u0020\u007f-\u00a0\u200b-\u200f\u2028\u2029\ufeff]/g, "")
                            .toLowerCase();
        const scheme = (v.match(/^([a-z][a-z0-9+.\-]*):/) || [])[1];
        const favicon = tag === "link" && el.rel === "icon" && attr.value === "data:,";
        if (["javascript", "vbscript", "livescript", "data", "file", "blob", "filesystem"].includes(scheme)
            && !favicon) {
          bad.push(name + "=" + JSON.stringify(attr.value.slice(0, 80)) + " on " + where(el));
        }
      }
      if (name === "style" && /expression|url\s*\(|javascript|behavior/i.test(attr.value)) {
        bad.push("style attribute " + JSON.stringify(attr.value.slice(0, 80)) + " on " + where(el));
      }
    }
    if (FORBIDDEN.includes(tag)) bad.push("<" + tag + "> at " + where(el));
    if (tag === "meta" && el.httpEquiv && el.httpEquiv.toLowerCase() !== "content-security-policy") {
      bad.push("<meta http-equiv=" + el.httpEquiv + ">");
    }
    if (tag === "script") {
      const own = el.src ? el.src.startsWith(assets) && !el.textContent
                : el.type === "application/json" && /^chart-[a-z-]+-spec$/.test(el.id)
                  && el.parentElement.classList.contains("chart-body");
      if (!own) bad.push("foreign <script> " + (el.src || JSON.stringify(el.textContent.slice(0, 80)))
                         + " at " + where(el));
      if (!el.src) {
        try { JSON.parse(el.textContent); } catch (e) { bad.push("chart spec #" + el.id + " is not JSON: " + e); }
      }
    }
    if (tag === "style") {
      const plotly = el.parentElement === document.head && (el.id === "plotly.js-style-global"
                                                            || /^[0-9a-f]{64}$/.test(el.id));
      const inlined = el.parentElement === document.head && !el.id && location.pathname.endsWith("/404.html");
      if (!plotly && !inlined) bad.push("foreign <style> at " + where(el) + ": " + el.textContent.slice(0, 80));
    }
    if (el.closest(".chart-plot") || !document.body.contains(el) && el !== document.body) {
      continue;  // Plotly's SVG (its links and attributes were checked above) and <head>
    }
    const inNarrative = el.closest(".narrative") && !/^h[23]$/.test(tag) && !el.matches(".narrative, .goal-columns, .goal-columns > div");
    if (inNarrative ? !MARKDOWN_TAGS.has(tag) : !SITE_TAGS.has(tag)) {
      bad.push("unexpected <" + tag + "> at " + where(el));
    }
    if (tag === "button" && !el.closest("table.sortable > thead > tr > th")) bad.push("foreign <button> at " + where(el));
    if (tag === "a" && el.closest(".narrative") && el.hasAttribute("href")) {
      const href = el.getAttribute("href");
      if (!/^(https?:|mailto:|#|\/|\.\/|\.\.\/|[^:\/?#]+([\/?#]|$))/i.test(href.trim())) {
        bad.push("narrative link " + JSON.stringify(href));
      }
    }
  }
  // the head holds only what base.html writes
  const head = Array.from(document.head.children).map(el => el.nodeName.toLowerCase());
  for (const tag of head) {
    if (!["meta", "link", "title", "style"].includes(tag)) bad.push("<" + tag + "> in <head>");
  }
  if (document.querySelectorAll("title").length !== 1) bad.push(document.querySelectorAll("title").length + " <title>");
  const csp = document.querySelectorAll('meta[http-equiv="Content-Security-Policy"]');
  if (csp.length !== 1 || csp[0].parentElement !== document.head) bad.push("CSP meta missing or repeated");
  void siteRoot;
  return bad;
}
"""

# textContent of the n-th match of a selector (or of its first text node, or an attribute)
READ_TEXTS = r"""
probes => probes.map(([selector, n, mode]) => {
  if (selector === "title") return document.title;
  const el = document.querySelectorAll(selector)[n];
  if (!el) return null;
  if (mode === "first-text") return el.firstChild && el.firstChild.nodeType === 3 ? el.firstChild.data : null;
  if (mode === "last-text") return el.lastChild && el.lastChild.nodeType === 3 ? el.lastChild.data : null;
  if (mode.startsWith("attr:")) return el.getAttribute(mode.slice(5));
  if (mode === "text-only" && el.children.length) return "<has " + el.children.length + " element children>";
  return el.textContent;
})
"""


class Watch:
    """Everything a page does that an XSS would show: hooked calls, dialogs, CSP reports, errors."""

    def __init__(self, page: Page):
        self.page = page
        self.items: list[str] = []
        page.add_init_script(HOOKS)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.items.append(f"pageerror: {error.message}"))
        page.on("dialog", self._dialog)
        page.on("requestfailed", lambda request: self.items.append(f"request failed: {request.url}"))
        page.on("response", lambda r: r.status >= 400 and self.items.append(f"HTTP {r.status}: {r.url}"))

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type in ("error", "warning"):
            self.items.append(f"console {msg.type}: {msg.text[:300]}")

    def _dialog(self, dialog: Dialog) -> None:
        self.items.append(f"dialog {dialog.type}: {dialog.message}")
        dialog.dismiss()

    def collect(self) -> list[str]:
        calls = self.page.evaluate("() => window.__xssCalls")
        violations = self.page.evaluate("() => window.__cspViolations")
        items = self.items + [f"called {c}" for c in calls] + [f"securitypolicyviolation {v}" for v in violations]
        self.items = []
        return items


def open_checked(page: Page, watch: Watch, url: str) -> list[str]:
    """Load one page, let its charts draw, and return every sign of injected markup or script."""
    response = page.goto(url, wait_until="load")
    problems = [] if response is not None and response.status == 200 else [f"HTTP {response and response.status}"]
    page.wait_for_function(ALL_CHARTS_RENDERED, timeout=TIMEOUT_MS)
    page.wait_for_timeout(50)  # handlers such as onfocus/ontoggle fire just after load
    problems += page.evaluate(DOM_AUDIT)
    return problems + watch.collect()


def short(text: str | None, limit: int = 90) -> str:
    return repr(text if text is None or len(text) <= limit else text[:limit] + f"…(+{len(text) - limit})")


@pytest.fixture(params=["csp", "csp-bypassed"])
def browse(request, browser: Browser):
    """A page under the site's CSP, or with the CSP bypassed so escaping alone is tested."""
    context = browser.new_context(bypass_csp=request.param == "csp-bypassed")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    watch = Watch(page)
    yield page, watch
    context.close()


# --------------------------------------------------------------------------- where each field shows

SITE_FILE = "site.yaml"


def site_probes(site: BuiltSite, rel: str, values: dict[str, str]) -> list[tuple]:
    """(selector, index, mode, expected, what) for the site.yaml fields on one page."""
    title, description, publisher = (values[k].strip() for k in ("title", "description", "publisher"))
    probes = [(".site-title a", 0, "text", title, "site.title in header")]
    if publisher:
        probes.append((".site-publisher", 0, "text", publisher, "site.publisher in header"))
    if description:
        probes.append(('meta[name="description"]', 0, "attr:content", description, "site.description in meta"))
    if rel == "index.html":
        probes.append(("main h1", 0, "text", title, "site.title as h1"))
        probes.append(("title", 0, "text", title, "site.title as <title>"))
        if description:
            probes.append(("p.lead", 0, "text", description, "site.description as lead"))
    return probes


def record_probes(site: BuiltSite, rel: str) -> list[tuple]:
    """(selector, index, mode, expected, what) for every record field shown on one page."""
    v = site.value
    site_values = {k: v(SITE_FILE, k) for k in ("title", "description", "publisher")}
    probes = site_probes(site, rel, site_values)
    names = {slug: v(f"departments/{slug}/department.yaml", "name") for slug in ("alpha", "beta")}
    if rel == "departments/index.html":
        for i, slug in enumerate(("alpha", "beta")):
            probes.append(("table.data tbody th[scope=row] a", i, "text-only", names[slug], f"{slug} name"))
            probes.append(("table.data tbody tr > td:nth-of-type(1)", i, "text-only",
                           v(f"departments/{slug}/department.yaml", "region"), f"{slug} region"))
    match = re.fullmatch(r"departments/(alpha|beta)/index.html", rel)
    if match:
        slug = match.group(1)
        f = f"departments/{slug}/department.yaml"
        probes.append(("main h1", 0, "first-text", names[slug], "department name as h1"))
        probes.append(("title", 0, "text", f"{names[slug]} · {site_values['title']}", "department <title>"))
        if v(f, "region"):
            probes.append(("main > p:not(.note):not(.fictional-banner)", 0, "last-text", v(f, "region"),
                           "region (after the label)"))
        if v(f, "note"):
            probes.append(("main > p.note", 0, "text-only", v(f, "note"), "department note"))
    match = re.fullmatch(r"(\d{4})/index.html", rel)
    if match:
        slugs = ["alpha", "beta"] if match.group(1) == "2021" else ["alpha"]
        for slug in slugs:
            probes.append((f'#ranking th[scope=row] a[href*="/{slug}/"]', 0, "text-only", names[slug],
                           f"{slug} name in ranking"))
    match = re.fullmatch(r"departments/(alpha|beta)/(\d{4})/index.html", rel)
    if match:
        slug, year = match.groups()
        f = f"departments/{slug}/{year}.yaml"
        probes.append((".form-header dd", 0, "text-only", names[slug], "department name in form header"))
        probes.append((".breadcrumb a", 1, "text-only", names[slug], "department name in breadcrumb"))
        if v(f, "project"):
            probes.append(("h1 small", 0, "last-text", v(f, "project"), "project"))
        if v(f, "source"):
            probes.append((".provenance p:first-child", 0, "last-text", v(f, "source"), "source"))
        if v(f, "notes"):
            probes.append((".provenance p:last-child", 0, "last-text", v(f, "notes"), "notes"))
        sources = [s for s in SLOTS if s.file == f and s.path[:2] == ("funds", "sources")]
        for j, slot in enumerate(sources):
            name = v(f, *slot.path)
            probes.append(("table.funds tbody tr:not(.total-row) th", j, "text-only", name, f"fund source {j}"))
            probes.append(("#chart-execution ~ table tbody th", j, "text-only", name, f"fund source {j} chart table"))
        columns = {"level3": 0, "content": 1, "target": 2, "actual": 3, "reason": 6, "measures": 7}
        indicators = {s.path[1] for s in SLOTS if s.file == f and s.path[0] == "indicators"}
        for i in sorted(indicators):
            for key, column in columns.items():
                probes.append((f"#indicator-{i} > td", column, "text-only", v(f, "indicators", i, key),
                               f"indicators[{i}].{key}"))
    return probes


def check_probes(page: Page, probes: list[tuple]) -> list[str]:
    texts = page.evaluate(READ_TEXTS, [[s, n, "text" if m == "title" else m] for s, n, m, _, _ in probes])
    bad = []
    for (selector, n, _mode, expected, what), got in zip(probes, texts, strict=True):
        if got != expected:
            bad.append(f"{what} ({selector} #{n}): expected {short(expected)}, shown {short(got)}")
    return bad


# Markdown may rewrite text (entities decode, emphasis), but the payload words stay visible text.
PAYLOAD_WORDS = ("alert(1)", "confirm(1)", "prompt(1)", "javascript:", "onerror", "onload", "<script>")
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
        shown = page.evaluate("s => { const el = document.querySelector(s); return el && el.textContent; }",
                              selector)
        if shown is None:
            bad.append(f"{'.'.join(path)}: no {selector}")
            continue
        for word in PAYLOAD_WORDS:
            if shown.count(word) < vector.count(word):
                bad.append(f"{'.'.join(path)}: {word!r} no longer visible text (vector {short(vector)}, "
                           f"shown {short(shown)})")
        if "{{" in vector and "{{" not in shown:
            bad.append(f"{'.'.join(path)}: template syntax evaluated: {short(shown)}")
    return bad


# --------------------------------------------------------------------------- the tests


def test_vectors_are_many_distinct_and_land_in_every_kind_of_field():
    assert N >= 35 and len(set(VECTORS)) == N
    for kind in KINDS:
        seen = {v for k in range(BUILDS) for s, v in assignment(k).items() if s.kind == kind}
        assert seen == set(VECTORS), f"{kind}: {N - len(seen)} vector(s) never used"
    for k in range(BUILDS):  # a different vector in each field of a build, as far as there are vectors
        kinds = {}
        for slot, vector in assignment(k).items():
            kinds.setdefault(slot.kind, []).append(vector)
        for kind, vectors in kinds.items():
            assert len(set(vectors)) == min(len(vectors), N), (k, kind)


@pytest.mark.browser
@pytest.mark.parametrize("k", range(BUILDS), ids=[f"build{k}" for k in range(BUILDS)])
def test_record_fields_never_run_script_and_show_escaped(browse, sites, base_url, k):
    page, watch = browse
    site = sites[f"records-{k}"]
    pages = site.pages()
    assert len(pages) == 11, pages  # index, 2 years, departments, 2 departments, 3 forms, quality, 404
    failures = []
    for rel in pages:
        problems = open_checked(page, watch, f"{base_url}{site.name}/{rel}")
        problems += check_probes(page, record_probes(site, rel))
        problems += check_markdown(page, site, rel)
        charts = page.locator(".chart-plot").count()
        svgs = page.locator('.chart-plot[data-rendered="true"] svg.main-svg').count()
        if rel not in ("departments/index.html", "quality/index.html", "404.html") and not charts:
            problems.append("no charts on a page that should have them")
        if svgs < charts:
            problems.append(f"only {svgs} of {charts} charts drew their SVG")
        failures += [f"{rel}: {p}" for p in problems]
    assert failures == [], f"{len(failures)} problem(s) in {site.name}:\n" + "\n".join(failures)


@pytest.mark.browser
def test_site_yaml_fields_never_run_script_and_show_escaped(browse, sites, base_url):
    """Every vector as site title, description and publisher (one build per vector)."""
    page, watch = browse
    failures = []
    for k in range(N):
        site = sites[f"site-{k}"]
        for rel in ("index.html", "404.html"):
            problems = open_checked(page, watch, f"{base_url}{site.name}/{rel}")
            probes = site_probes(site, rel, site.values)
            problems += check_probes(page, probes)
            failures += [f"{site.name}/{rel}: {p}" for p in problems]
    assert failures == [], f"{len(failures)} problem(s):\n" + "\n".join(failures)


@pytest.mark.browser
def test_csp_blocks_inline_script_but_lets_charts_draw(page: Page, sites, base_url):
    """The policy is real: an inline script and handler added to a built page are refused."""
    page.set_default_timeout(TIMEOUT_MS)
    watch = Watch(page)
    site = sites["records-0"]
    page.goto(f"{base_url}{site.name}/departments/alpha/2021/index.html", wait_until="load")
    page.wait_for_function(ALL_CHARTS_RENDERED, timeout=TIMEOUT_MS)
    assert page.locator(".chart-plot svg.main-svg").count() == page.locator(".chart-plot").count() >= 2

    csp = page.locator('meta[http-equiv="Content-Security-Policy"]').get_attribute("content")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["script-src"] == ["'self'"], csp
    assert directives["object-src"] == ["'none'"] and directives["base-uri"] == ["'none'"], csp
    assert "'unsafe-eval'" not in csp and "'unsafe-inline'" not in directives["script-src"], csp

    page.evaluate("""() => {
      const s = document.createElement("script");
      s.textContent = "alert('inline script ran')";
      document.body.appendChild(s);
      const d = document.createElement("div");
      d.innerHTML = '<img src="x.png" onerror="alert(\\'handler ran\\')">';
      document.body.appendChild(d);
      const a = document.createElement("a");
      a.href = "javascript:alert('link ran')";
      document.body.appendChild(a);
      a.click();
    }""")
    page.wait_for_function("() => window.__cspViolations.length >= 3", timeout=TIMEOUT_MS)
    assert page.evaluate("() => window.__xssCalls") == []
    directives_hit = " ".join(page.evaluate("() => window.__cspViolations"))
    assert "script-src-elem" in directives_hit and "script-src-attr" in directives_hit, directives_hit


@pytest.mark.parametrize("k", range(BUILDS), ids=[f"build{k}" for k in range(BUILDS)])
def test_feed_and_sitemap_stay_well_formed_xml(sites, k):
    """Record text also reaches feed.xml (titles): escaped, so the XML still parses."""
    site = sites[f"records-{k}"]
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ET.parse(site.out / "feed.xml").getroot()
    assert feed.find("a:title", ns).text == site.value(SITE_FILE, "title")
    titles = {e.find("a:title", ns).text for e in feed.findall("a:entry", ns)}
    names = {site.value(f"departments/{s}/department.yaml", "name") for s in ("alpha", "beta")}
    assert titles == {f"{n} {y}" for n, y in [(names.pop(), 0)]} or all(
        any(t.startswith(n) for n in (site.value(f"departments/{s}/department.yaml", "name")
                                      for s in ("alpha", "beta"))) for t in titles)
    ET.parse(site.out / "sitemap.xml")

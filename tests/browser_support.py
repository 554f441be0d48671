"""Helpers shared by the browser tests (test_browser, test_search, test_injection).

A plain module, imported as ``from browser_support import ...`` (tests/ is on sys.path because
conftest.py lives there): serving a folder over HTTP on 127.0.0.1, collecting what goes wrong on
a page (console errors, CSP violations, uncaught exceptions, failed requests) and waiting for
the charts to draw. Nothing here touches the network.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Error, Page, Request, Response

# Generous on purpose: nothing asserts on speed, only on eventually reaching a state.
TIMEOUT_MS = 60_000

# Recorded before any page script runs; init scripts are not subject to the page's CSP.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.disposition + " " + e.effectiveDirective + " blocked "
                              + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber);
});
"""

ALL_CHARTS_RENDERED = """() => {
  const plots = Array.from(document.querySelectorAll(".chart-plot"));
  return plots.every(el => el.getAttribute("data-rendered") === "true" && el.querySelector("svg.main-svg"));
}"""


# --------------------------------------------------------------------------- serving


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class KeepAliveHandler(QuietHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: for hundreds of page loads


class Server(ThreadingHTTPServer):
    daemon_threads = True


class QuietServer(Server):
    def handle_error(self, request, client_address):
        pass  # a browser dropping a keep-alive connection is not a test failure


@contextmanager
def serve_folder(folder: Path, *, name: str = "perfsite-test-http", keep_alive: bool = False) -> Iterator[str]:
    """``folder`` over HTTP on 127.0.0.1 (ephemeral port); yields the base URL with a trailing slash.

    ``keep_alive`` answers in HTTP/1.1 with persistent connections and ignores connections the
    browser drops; otherwise each request gets its own HTTP/1.0 connection.
    """
    handler_class, server_class = (KeepAliveHandler, QuietServer) if keep_alive else (QuietHandler, Server)
    server = server_class(("127.0.0.1", 0), functools.partial(handler_class, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --------------------------------------------------------------------------- what goes wrong on a page


class PageWatcher:
    """Collects, in ``items``, what goes wrong on one page; subclasses say what counts and how it reads.

    ``init_script`` runs before any page script (it records CSP violations); HTTP error responses
    always count.
    """

    init_script = CSP_LISTENER

    def __init__(self, page: Page):
        self.page = page
        self.items: list[str] = []
        page.add_init_script(self.init_script)
        page.on("console", self._console)
        page.on("pageerror", self._pageerror)
        page.on("response", self._response)
        page.on("requestfailed", self._requestfailed)

    def _console(self, msg: ConsoleMessage) -> None:
        raise NotImplementedError

    def _pageerror(self, error: Error) -> None:
        raise NotImplementedError

    def _requestfailed(self, request: Request) -> None:
        raise NotImplementedError

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.items.append(f"HTTP {response.status}: {response.url}")


class Problems(PageWatcher):
    """Console errors, CSP violations, uncaught exceptions and failed requests seen by one page."""

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.items.append(f"console error: {msg.text} @ {msg.location}")
        elif msg.type == "warning" and "Content Security Policy" in msg.text:
            self.items.append(f"CSP warning: {msg.text} @ {msg.location}")

    def _pageerror(self, error: Error) -> None:
        self.items.append(f"pageerror: {error.message}\n{error.stack}")

    def _requestfailed(self, request: Request) -> None:
        self.items.append(f"request failed: {request.url} ({request.failure})")

    def all(self) -> list[str]:
        violations = self.page.evaluate("() => window.__cspViolations || []")
        return self.items + [f"securitypolicyviolation: {v}" for v in violations]


def open_page(page: Page, url: str) -> tuple[Response | None, Problems]:
    page.set_default_timeout(TIMEOUT_MS)
    problems = Problems(page)
    response = page.goto(url, wait_until="load")
    return response, problems


# --------------------------------------------------------------------------- charts


def wait_for_charts(page: Page) -> int:
    """Wait until every .chart-plot has drawn its SVG; return the number of charts."""
    page.wait_for_function(ALL_CHARTS_RENDERED, timeout=TIMEOUT_MS)
    return page.locator(".chart-plot").count()


def rendered_chart_count(page: Page) -> int:
    return page.locator('.chart-plot[data-rendered="true"]:has(svg.main-svg)').count()

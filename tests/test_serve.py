"""``perfsite serve`` as a user runs it: a real subprocess, real sockets, a real Chromium.

Every test that edits files starts its own server (``--port 0``) on a fresh copy of the
tiny project, so edits never leak between tests; the read-only HTTP/security tests share
one server per module. Every server is stopped in teardown (SIGINT, then kill as a last
resort). Plain HTTP goes through ``http.client`` (no proxy, raw paths); the live-reload
tests (``@pytest.mark.browser``) watch the page change without ever reloading it by hand.

After the "serving ..." line a test waits until the watcher has reported a probe file
(:meth:`ServeProcess.wait_watching`), because the line is printed before the watcher and
the signal handlers are set up; the tests in "startup races" keep that fixed.

No test asserts a duration, so they pass on a loaded machine (2 busy cores): a wait ends on
an event (a line of the server's output, a page condition in the browser) and its bound is
generous, only there to turn a hang into a failure. Where no event exists (an HTTP answer
changing), the wait re-checks after each output line or every 0.25 s. The save → visible
times the browser tests measure are printed at the end, not checked."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page

REPO = Path(__file__).resolve().parent.parent
TINY = Path(__file__).resolve().parent / "fixtures" / "tiny"  # what the tiny_project fixture copies
FORM = "departments/alpha/2021/index.html"
RECORD = Path("content/departments/alpha/2021.yaml")
REASON = "天气影响"  # the reason text of alpha 2021's first indicator, shown on its form page

# Bounds that only stop a hang; none is a speed claim.
STARTUP_TIMEOUT = 90.0   # the first start imports tornado, jinja2, plotly... on a busy machine
SETTLE_TIMEOUT = 30.0    # a rebuild becoming visible
STOP_TIMEOUT = 30.0      # the server ends its search refresh and Pagefind before it exits
PAGE_TIMEOUT_MS = 30_000
RECHECK_SECONDS = 0.25   # re-check an HTTP answer at least this often when no output line comes

SERVING = re.compile(r"^serving (?P<dir>.+) on (?P<url>http://(?P<host>\[[^\]]+\]|[^:/]+):(?P<port>\d+)/)"
                     r" \(Ctrl-C to stop\)$")
LIVERELOAD_CONNECTED = """() => !!(window.LiveReload && window.LiveReload.connector
    && window.LiveReload.connector.protocol >= 7)"""
OVERLAY = "#perfsite-error-overlay"
LATENCIES: list[tuple[str, float]] = []


# --------------------------------------------------------------------------- the server process


class ServeProcess:
    """``python -m generator serve`` in a subprocess; stdout/stderr read line by line in threads."""

    def __init__(self, project: Path, *extra: str, env: dict[str, str] | None = None):
        cmd = [sys.executable, "-m", "generator", "serve", "-p", str(project), "--port", "0", *extra]
        env = {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONUNBUFFERED": "1", **(env or {})}
        self.project = project
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.url = ""
        self.host = ""
        self.port = 0
        self.responses: list[Response] = []
        self._lock = threading.Condition()  # notified on every output line and at end of output
        self._ended = 0  # streams at end of file
        self._readers = [threading.Thread(target=self._read, args=(stream, sink), daemon=True)
                         for stream, sink in ((self.proc.stdout, self.stdout), (self.proc.stderr, self.stderr))]
        for reader in self._readers:
            reader.start()

    def _read(self, stream, sink: list[str]) -> None:
        for line in stream:
            line = line.rstrip("\n")
            with self._lock:
                sink.append(line)
                match = SERVING.match(line) if sink is self.stdout and not self.url else None
                if match:
                    self.url, self.host, self.port = match["url"], match["host"], int(match["port"])
                self._lock.notify_all()
        with self._lock:
            self._ended += 1
            self._lock.notify_all()

    def wait_until(self, condition, timeout: float) -> bool:
        """Block until ``condition()`` holds (checked whenever a line arrives) or the output
        ends (the server exited) or ``timeout`` passes; returns whether it holds."""
        with self._lock:
            self._lock.wait_for(lambda: condition() or self._ended == 2, timeout)
            return bool(condition())

    def output(self, lines: int = 60) -> str:
        with self._lock:
            return ("stdout:\n" + "\n".join(self.stdout[-lines:]) + "\nstderr:\n"
                    + "\n".join(self.stderr[-lines:]))

    def wait_serving(self, timeout: float = STARTUP_TIMEOUT) -> ServeProcess:
        if not self.wait_until(lambda: self.url, timeout):
            if self._ended == 2:
                self.proc.wait(STOP_TIMEOUT)
                pytest.fail(f"perfsite serve exited with {self.proc.returncode} before serving\n{self.output()}")
            pytest.fail(f"no 'serving ... on http://...' line within {timeout} s\n{self.output()}")
        return self

    def rebuild_lines(self) -> int:
        with self._lock:
            return sum(line.startswith(("rebuilt ", "build failed")) for line in self.stdout)

    def wait_rebuilds(self, count: int, timeout: float) -> bool:
        return self.wait_until(lambda: self.rebuild_lines() >= count, timeout)

    def wait_watching(self, timeout: float = SETTLE_TIMEOUT) -> ServeProcess:
        """Block until the file watcher is running, by saving a probe file it must report.

        Needed because the 'serving' line is printed before the watcher takes its first
        snapshot (see ``test_edit_saved_right_after_start_is_not_lost``): an edit
        made in between is never noticed. The probe sits in content/ outside departments/,
        which the build ignores; it stays there (removing it would cause one more reload).
        """
        probe = self.project / "content" / "watch-probe.txt"
        deadline = time.monotonic() + timeout
        attempt, patience = 0, 0.5
        while True:
            seen = self.rebuild_lines()
            attempt += 1
            probe.write_text("probe " * attempt, encoding="utf-8")  # a new size every time
            # no report: the write came before the watcher's baseline (or the machine is slow,
            # and a second probe does no harm); write again, waiting longer each time
            if self.wait_rebuilds(seen + 1, timeout=patience):
                return self
            patience = min(patience * 2, 8.0)
            if time.monotonic() > deadline or not self.alive():
                pytest.fail(f"the watcher never reported {probe}\n{self.output()}")

    def wait_search_idle(self, timeout: float = 60.0) -> ServeProcess:
        """Wait until the background search refresh after the last rebuild has finished.

        Only the clean-stop tests need this: stopping while it runs can print a traceback
        and leaves Pagefind running (``test_stop_during_search_refresh_is_clean``)."""
        if self.get("/pagefind/pagefind.js").status != 200:
            return self  # search: false

        def idle() -> bool:
            rebuilt = [i for i, line in enumerate(self.stdout) if line.startswith("rebuilt ")]
            refreshed = [i for i, line in enumerate(self.stdout) if line.startswith("search index")]
            # every update, the first too, is followed by an index made in the background
            return bool(rebuilt and refreshed and refreshed[-1] > rebuilt[-1])

        if not self.wait_until(idle, timeout):
            pytest.fail(f"no 'search index ...' line after the last rebuild\n{self.output()}")
        return self

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, signum: int = signal.SIGINT, timeout: float = STOP_TIMEOUT) -> int | None:
        """Signal the server and wait; kill it only if it does not stop. Returns the exit code,
        or None when it had to be killed."""
        code: int | None
        if self.proc.poll() is not None:
            code = self.proc.returncode
        else:
            self.proc.send_signal(signum)
            try:
                code = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                code = None
        self._join_readers()
        return code

    def _join_readers(self) -> None:
        for reader in self._readers:
            reader.join(timeout=5)

    # -- HTTP -------------------------------------------------------------------------
    def get(self, path: str, method: str = "GET") -> Response:
        """One request with the path sent exactly as given (no normalising, no proxy)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=SETTLE_TIMEOUT)
        try:
            conn.request(method, path)
            raw = conn.getresponse()
            response = Response(path, raw.status, {k.lower(): v for k, v in raw.getheaders()}, raw.read())
        finally:
            conn.close()
        self.responses.append(response)
        return response

    def text(self, path: str) -> str:
        response = self.get(path)
        assert response.status == 200, f"GET {path}: HTTP {response.status}"
        return response.body.decode("utf-8")

    def lines(self) -> int:
        with self._lock:
            return len(self.stdout) + len(self.stderr)

    def wait_for(self, path: str, predicate, what: str, timeout: float = SETTLE_TIMEOUT) -> Response:
        """GET ``path`` until ``predicate(response)`` holds, again after each line the server
        prints (a rebuild) or every RECHECK_SECONDS; the server must stay up meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.alive(), f"perfsite serve died\n{self.output()}"
            seen = self.lines()
            response = self.get(path)
            if predicate(response):
                return response
            if time.monotonic() > deadline:
                pytest.fail(f"GET {path}: not {what} within {timeout} s (last: HTTP {response.status})\n"
                            f"{response.body.decode('utf-8', 'replace')[-2000:]}\n{self.output()}")
            self.wait_until(lambda seen=seen: self.lines() > seen, RECHECK_SECONDS)


@dataclass
class Response:
    path: str
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def has_overlay(response: Response) -> bool:
    return b'id="perfsite-error-overlay"' in response.body


@pytest.fixture
def start_server():
    """Start servers on demand; every one is stopped at teardown, whatever the test did."""
    started: list[ServeProcess] = []

    def start(project: Path, *extra: str, watching: bool = True) -> ServeProcess:
        server = ServeProcess(project, *extra)
        started.append(server)
        server.wait_serving()
        return server.wait_watching() if watching else server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def served(tiny_project: Path, start_server) -> ServeProcess:
    """A server on a fresh scratch copy of the tiny project."""
    return start_server(tiny_project)


# --------------------------------------------------------------------------- editing


def edit_record(project: Path, old: str, new: str) -> None:
    path = project / RECORD
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- the browser side

CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.__perfsiteCsp(e.disposition + " " + e.effectiveDirective + " blocked " + (e.blockedURI || "inline")
                       + " at " + e.sourceFile + ":" + e.lineNumber);
});
"""


@dataclass
class LivePage:
    """A page opened on the dev server, with every problem it reports across reloads."""

    page: Page
    server: ServeProcess
    problems: list[str] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)
    navigations: int = 0

    def __post_init__(self):
        page = self.page
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        # a binding survives reloads, unlike a window variable
        page.expose_binding("__perfsiteCsp", lambda _source, text: self.problems.append(f"CSP: {text}"))
        page.add_init_script(CSP_REPORTER)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"pageerror: {error.message}"))
        page.on("requestfailed", self._request_failed)
        page.on("response", lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"))
        page.on("websocket", lambda ws: self.sockets.append(ws.url))
        page.on("framenavigated", self._navigated)

    def _navigated(self, frame) -> None:
        if frame == self.page.main_frame:
            self.navigations += 1

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error" or (msg.type == "warning" and "Content Security Policy" in msg.text):
            self.problems.append(f"console {msg.type}: {msg.text} @ {msg.location}")

    def _request_failed(self, request) -> None:
        # a reload (what livereload does) cancels the old document's pending requests
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"request failed: {request.url} ({request.failure})")

    def open(self, path: str) -> LivePage:
        response = self.page.goto(self.server.url + path, wait_until="load")
        assert response is not None and response.status == 200, f"{path}: HTTP {response and response.status}"
        return self.wait_connected()

    def wait_connected(self) -> LivePage:
        """livereload.js has done its handshake (protocol 7) and sent 'info', so the server
        counts this page among the browsers to reload."""
        self.page.wait_for_function(LIVERELOAD_CONNECTED, timeout=PAGE_TIMEOUT_MS)
        return self

    def wait_text(self, text: str, timeout_ms: int = PAGE_TIMEOUT_MS) -> None:
        self.page.wait_for_function("t => document.body && document.body.innerText.includes(t)", arg=text,
                                    timeout=timeout_ms)

    def body_text(self) -> str:
        return self.page.evaluate("() => document.body.innerText")


@pytest.fixture
def live(page: Page, served: ServeProcess) -> LivePage:
    return LivePage(page, served)


def assert_clean(live: LivePage) -> None:
    assert live.problems == [], "\n".join(live.problems)
    expected = f"ws://127.0.0.1:{live.server.port}/livereload"
    assert live.sockets and all(url == expected for url in live.sockets), live.sockets


# --------------------------------------------------------------------------- 1-4: live reload


@pytest.mark.browser
def test_record_edit_is_on_screen_without_a_reload(live: LivePage, tiny_project: Path):
    live.open(FORM)
    assert REASON in live.body_text()
    navigations = live.navigations

    edit_record(tiny_project, f"reason: {REASON}", "reason: 天气影响第7391次")
    saved = time.monotonic()
    live.wait_text("天气影响第7391次")
    LATENCIES.append(("record edit", time.monotonic() - saved))

    assert live.navigations > navigations, "the new text appeared without a reload?"
    live.wait_connected()  # the reloaded page reconnects too
    assert_clean(live)


# two edits in a row, at every gap between them: test_hardening_serve.py


@pytest.mark.browser
def test_broken_record_shows_overlay_until_fixed(live: LivePage, tiny_project: Path):
    server = live.server
    live.open(FORM)
    record = tiny_project / RECORD
    good = record.read_text(encoding="utf-8")
    record.write_text(good + "bad: [\n", encoding="utf-8")

    live.page.wait_for_selector(OVERLAY, state="visible")
    overlay = live.page.locator(OVERLAY).inner_text()
    assert re.search(r"content/departments/alpha/2021\.yaml:\d+", overlay), overlay
    assert REASON in live.body_text(), "the last good page should stay underneath the overlay"

    # plain HTTP meanwhile: 200 with the last good content (plus the overlay)
    for path in (FORM, "index.html", "2021/index.html", "data/by-year/2021/reports.json"):
        response = server.get("/" + path)
        assert response.status == 200, f"{path}: HTTP {response.status}"
        assert response.headers.get("cache-control") == "no-store"
    assert REASON in server.text("/" + FORM) and has_overlay(server.get("/" + FORM))
    assert REASON in server.text("/data/by-year/2021/reports.json")

    live.wait_connected()  # the overlay page is live too
    record.write_text(good.replace(f"reason: {REASON}", "reason: 修好了8812"), encoding="utf-8")
    saved = time.monotonic()
    live.wait_text("修好了8812")
    LATENCIES.append(("fix after broken record", time.monotonic() - saved))
    live.page.wait_for_selector(OVERLAY, state="detached")
    assert not has_overlay(server.get("/" + FORM))
    assert "修好了8812" in server.text("/data/by-year/2021/reports.json")
    assert_clean(live)


@pytest.mark.browser
def test_template_override_edits_reload(live: LivePage, tiny_project: Path):
    live.open(FORM)
    override = tiny_project / "overrides" / "templates" / "form.html"
    template = ('{% extends "!theme/form.html" %}{% block content %}<p id="tpl-mark">VERSION</p>'
                "{{ super() }}{% endblock %}\n")

    # the overrides folder did not exist when the server started
    write(override, template.replace("VERSION", "v1"))
    live.page.wait_for_selector("#tpl-mark")
    live.wait_connected()
    assert live.page.locator("#tpl-mark").inner_text() == "v1"
    assert REASON in live.body_text(), "super() keeps the theme's form"

    write(override, template.replace("VERSION", "v2"))
    saved = time.monotonic()
    live.page.wait_for_function("() => document.getElementById('tpl-mark')?.textContent === 'v2'",
                                timeout=PAGE_TIMEOUT_MS)
    LATENCIES.append(("template edit", time.monotonic() - saved))
    live.wait_connected()
    assert 'id="tpl-mark">v2<' in live.server.text("/" + FORM)
    assert 'id="tpl-mark"' not in live.server.text("/index.html"), "only form pages use form.html"
    assert_clean(live)


# --------------------------------------------------------------------------- 5: HTTP and security

TRAVERSALS = [
    "/.perfsite-output",
    "/.git/config",
    "/.git/",
    "/content/.secret.yaml",
    "/..%2f..%2fetc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2E%2E/%2E%2E/etc/passwd",
    "/../../etc/passwd",
    "/assets/../../etc/passwd",
    "/assets/..%2f..%2fcontent/site.yaml",
    "/assets/%2e%2e/%2e%2e/content/site.yaml",
    "/%252e%252e/%252e%252e/etc/passwd",
    "/assets/%252e%252e%252f%252e%252e%252fcontent%252fsite.yaml",
    "/..%5c..%5cetc%5cpasswd",
    "/assets/%00.css",
    "//etc/passwd",
    "/content/site.yaml",
    "/content/departments/alpha/2021.yaml",
    "/overrides/templates/404.html",
]
NOT_FOUND_TEMPLATE = '<p id="nf-mark">nothing here</p>\n'  # no </body>, no </html>


def reload_script(port: int) -> re.Pattern:
    """The injected livereload.js tag: the server's port and the version of the build shown."""
    return re.compile(rf'<script src="/livereload\.js\?port={port}&amp;perfsite_build=[0-9a-f]+-\d+"></script>')


@pytest.fixture(scope="module")
def secured(tmp_path_factory) -> ServeProcess:
    """One server for the read-only HTTP tests: secrets in the places a traversal would
    reach, and a 404 template without </body> or </html>."""
    project = tmp_path_factory.mktemp("secured") / "tiny"
    shutil.copytree(TINY / "content", project / "content")
    write(project / ".git" / "config", "[core]\n\tsecret = GIT-SECRET-5521\n")
    write(project / ".perfsite-output", "OUTPUT-SECRET-5521\n")
    write(project / "content" / ".secret.yaml", "token: DOT-SECRET-5521\n")
    write(project / "overrides" / "templates" / "404.html", NOT_FOUND_TEMPLATE)
    server = ServeProcess(project)
    try:
        yield server.wait_serving().wait_watching()
    finally:
        server.stop()


@pytest.mark.parametrize("path", TRAVERSALS)
def test_dotfiles_and_traversal_are_refused(secured: ServeProcess, path: str):
    response = secured.get(path)
    assert response.status in (403, 404), f"{path}: HTTP {response.status}"
    for secret in ("SECRET-5521", "root:x:0:0", "profile: national", "year: 2021\nunits"):
        assert secret not in response.text, f"{path} leaked {secret!r}"
    assert response.headers.get("cache-control") == "no-store"


def test_http_basics(secured: ServeProcess):
    server = secured
    pages = ["/", "/index.html", "/2021/", "/2021/index.html", "/" + FORM, "/departments/alpha/",
             "/quality/index.html", "/404.html"]
    script = reload_script(server.port)
    for path in pages:
        response = server.get(path)
        assert response.status == 200, f"{path}: HTTP {response.status}"
        assert response.headers["content-type"] == "text/html; charset=utf-8", path
        assert len(script.findall(response.text)) == 1, f"{path}: reload script missing or doubled"
    form = server.text("/" + FORM)
    assert form.index("livereload.js") < form.rindex("</body>"), "script goes inside <body>"
    for path in ("/data/by-year/2021/reports.json", "/data/by-year/2021/reports.csv", "/feed.xml", "/robots.txt"):
        response = server.get(path)
        assert response.status == 200, path
        assert b"livereload" not in response.body, f"{path}: script injected into a non-HTML file"
    assert server.get("/", method="HEAD").status == 200

    for path in ("/2021", "/departments/alpha", "/departments"):
        response = server.get(path)
        assert response.status in (301, 302), f"{path}: HTTP {response.status}"
        assert response.headers["location"] == path + "/", response.headers
    assert server.get("//2021").headers.get("location") == "/2021/", "a redirect never leaves the site"

    missing = server.get("/no/such/page.html")  # the override 404.html has no </body> or </html>
    assert missing.status == 404
    assert missing.headers["content-type"] == "text/html; charset=utf-8"
    assert "nf-mark" in missing.text
    assert re.search(script.pattern + r"\Z", missing.text.rstrip()), "the script is appended at the end"

    ok = [r for r in server.responses if r.status == 200]
    assert len(ok) > 10
    no_store = [r.path for r in ok if r.headers.get("cache-control") != "no-store"]
    assert no_store == [], f"200 responses without Cache-Control: no-store: {no_store}"
    assert all(r.headers.get("cache-control") == "no-store" for r in server.responses)


def test_livereload_script_is_not_cached(served: ServeProcess):
    response = served.get(f"/livereload.js?port={served.port}")
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/javascript")
    assert response.headers.get("cache-control") == "no-store"


def test_symlinks_out_of_the_project_are_never_served(tiny_project: Path, tmp_path: Path, start_server):
    outside = tmp_path / "outside"
    write(outside / "secret.txt", "LINKED-SECRET-9043\n")
    server = start_server(tiny_project)
    static = tiny_project / "overrides" / "static"
    static.mkdir(parents=True)

    (static / "marker.txt").write_text("MARKER-OK\n", encoding="utf-8")
    server.wait_for("/assets/marker.txt", lambda r: r.status == 200, "the new static file served")

    # a linked folder and linked files: the build refuses them and says so in the overlay
    linked_dir = static / "linked-dir"
    linked_dir.symlink_to(outside, target_is_directory=True)
    (static / "leak.txt").symlink_to(outside / "secret.txt")
    also = static / "hostname.txt"
    also.symlink_to("/etc/hostname")
    broken = server.wait_for("/" + FORM, has_overlay, "showing the overlay")
    assert broken.status == 200
    overlay = broken.text[broken.text.index('id="perfsite-error-overlay"'):]
    assert re.search(r"linked-dir|leak\.txt|hostname\.txt", overlay), overlay[:2000]
    assert "published" in overlay, overlay[:2000]  # "… never read or published"

    for path in ("/assets/leak.txt", "/assets/hostname.txt", "/assets/linked-dir/secret.txt", "/",
                 "/" + FORM, "/data/by-year/2021/reports.json", "/feed.xml", "/404.html", "/no-such-file"):
        server.get(path)
    hostname = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").is_file() else ""
    for response in server.responses:
        assert "LINKED-SECRET-9043" not in response.text, f"{response.path} leaked the linked file"
        if response.path.startswith("/assets/") and hostname:
            assert hostname not in response.text, f"{response.path} served /etc/hostname"
    assert server.get("/assets/leak.txt").status == 404
    assert server.get("/assets/hostname.txt").status == 404

    for link in (linked_dir, static / "leak.txt", also):
        link.unlink()
    server.wait_for("/" + FORM, lambda r: not has_overlay(r), "recovered after removing the links")
    for path in ("/assets/linked-dir/secret.txt", "/assets/linked-dir/", "/assets/linked-dir"):
        assert server.get(path).status in (403, 404), path
    assert server.get("/assets/marker.txt").text == "MARKER-OK\n"
    assert server.alive()


# --------------------------------------------------------------------------- 6: loopback only


def listening_addresses(port: int) -> list[tuple[str, str]]:
    """(table, local address hex) of every LISTEN socket on ``port`` in /proc/net/tcp{,6}."""
    found = []
    for table in ("tcp", "tcp6"):
        path = Path("/proc/net") / table
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if int(port_hex, 16) == port and fields[3] == "0A":  # 0A = TCP_LISTEN
                found.append((table, address))
    return found


def test_listens_on_loopback_only(served: ServeProcess):
    assert served.url == f"http://127.0.0.1:{served.port}/"
    assert listening_addresses(served.port) == [("tcp", "0100007F")]  # 127.0.0.1, no IPv6 socket
    assert not any("warning" in line for line in served.stderr), served.output()


def test_non_loopback_host_warns(tiny_project: Path, start_server):
    server = start_server(tiny_project, "--host", "0.0.0.0")
    warned = server.wait_until(lambda: any("warning" in line and "other machines" in line
                                           for line in server.stderr), STARTUP_TIMEOUT)
    assert warned, server.output()
    assert listening_addresses(server.port) == [("tcp", "00000000")]
    assert server.get("/").status == 200
    assert server.wait_search_idle().stop() == 0


# --------------------------------------------------------------------------- 7: stopping


def assert_port_free(port: int) -> None:
    """A new server can listen on the port at once (SO_REUSEADDR like every server sets, so
    TIME_WAIT from finished requests does not count; a leftover listener would)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_cleanly(served: ServeProcess, signum: int):
    assert served.get("/").status == 200
    served.wait_search_idle()
    code = served.stop(signum)
    assert code == 0, f"exit code {code} (None = had to be killed)\n{served.output()}"
    assert served.stdout and served.stdout[-1] == "stopped", served.output()
    assert not any("Traceback" in line for line in served.stderr), served.output()
    assert_port_free(served.port)
    assert listening_addresses(served.port) == []


def test_port_is_free_for_a_restart(tiny_project: Path, start_server):
    first = start_server(tiny_project).wait_search_idle()
    port = first.port
    assert first.stop() == 0
    second = ServeProcess(tiny_project, "--port", str(port))  # argparse: the last --port wins
    try:
        second.wait_serving().wait_watching()
        assert second.port == port
        assert second.get("/").status == 200
    finally:
        assert second.stop() == 0, second.output()


@pytest.mark.browser
def test_sigint_with_a_browser_connected(live: LivePage):
    live.open(FORM)
    live.server.wait_search_idle()
    code = live.server.stop()
    assert code == 0, f"exit code {code} (None = had to be killed)\n{live.server.output()}"
    assert live.server.stdout[-1] == "stopped"
    assert not any("Traceback" in line for line in live.server.stderr), live.server.output()
    assert_port_free(live.server.port)


# --------------------------------------------------------------------------- startup races (product bugs)

STARTUP_RACE = ("product bug: serve() prints 'serving ... (Ctrl-C to stop)' before it starts the watcher thread "
                "and before it installs the SIGINT/SIGTERM handlers")


def test_sigint_right_after_the_serving_line_exits_0(tiny_project: Path, start_server):
    outcomes = []
    for _ in range(3):  # the window is small but hit nearly every time; three tries make it certain
        server = start_server(tiny_project, watching=False)
        code = server.stop()
        outcomes.append((code, server.stdout[-1:]))
    assert outcomes == [(0, ["stopped"])] * 3


def test_edit_saved_right_after_start_is_not_lost(tiny_project: Path, tmp_path: Path, start_server):
    stale = []
    for attempt in range(3):
        project = shutil.copytree(tiny_project, tmp_path / f"attempt{attempt}")
        server = start_server(project, watching=False)
        edit_record(project, f"reason: {REASON}", "reason: 启动时保存")
        server.wait_watching()  # any change the watcher noticed has been rebuilt by now
        if "启动时保存" not in server.text("/" + FORM):
            in_data = "启动时保存" in server.text("/data/by-year/2021/reports.json")
            stale.append(f"attempt {attempt}: form page stale (data/by-year/2021/reports.json has the edit: {in_data})")
        server.stop()
    assert stale == []


def processes_mentioning(text: str) -> dict[int, str]:
    """pid → state of every live process whose command line contains ``text``."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state not in ("Z", "X"):  # a zombie has exited
            found[int(proc.name)] = state
    return found


FAKE_PAGEFIND = """#!{python}
import os, signal, sys
# the first run is the startup build (in the foreground): the real Pagefind
with open({runs!r}, "a") as runs:
    runs.write(f"{{os.getpid()}}\\n")
with open({runs!r}) as runs:
    first = len(runs.read().split()) == 1
if first:
    os.execv({real!r}, [{real!r}, *sys.argv[1:]])
signal.pause()  # a background refresh that is still running whenever the server stops
"""


def hanging_pagefind(folder: Path) -> dict[str, str]:
    """An environment in which the server's Pagefind runs hang after the first, so the
    server is always stopped during a refresh, however fast the machine (a module that
    shadows ``pagefind_bin_extended`` points the server at a wrapper script)."""
    from pagefind_bin_extended import get_executable

    script = folder / "pagefind"
    script.write_text(FAKE_PAGEFIND.format(python=sys.executable, runs=str(folder / "runs.txt"),
                                           real=str(get_executable())), encoding="utf-8")
    script.chmod(0o755)
    write(folder / "pagefind_bin_extended" / "__init__.py",
          f"from pathlib import Path\n\n\ndef get_executable():\n    return Path({str(script)!r})\n")
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))}


def wait_state(check, timeout: float, what: str):
    """For a state no event announces (another process's): re-check until it holds."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"not {what} within {timeout} s")
        time.sleep(0.05)
    return found


def test_stop_during_search_refresh_is_clean(tiny_project: Path, tmp_path: Path):
    scratch = tmp_path / "scratch"  # the server's TMPDIR, so its Pagefind run can be recognised
    scratch.mkdir()
    fake = tmp_path / "fake"
    fake.mkdir()
    server = ServeProcess(tiny_project, env={"TMPDIR": str(scratch), **hanging_pagefind(fake)})
    try:
        # the first index is made in the background too; once it is, an edited record's department
        # is indexed again (its bundle: a change outside the departments re-indexes nothing)
        server.wait_serving()
        if not server.wait_until(lambda: any(line.startswith("search index") for line in server.stdout),
                                 SETTLE_TIMEOUT):
            pytest.fail(f"no first search index\n{server.output()}")
        seen = server.rebuild_lines()
        edit_record(tiny_project, f"reason: {REASON}", "reason: 停止时编辑")
        if not server.wait_rebuilds(seen + 1, SETTLE_TIMEOUT):
            pytest.fail(f"the edit was not rebuilt\n{server.output()}")
        runs = fake / "runs.txt"  # a line per Pagefind run, written as it starts

        def refreshing() -> dict[int, str] | bool:
            return (runs.is_file() and len(runs.read_text().split()) >= 2
                    and processes_mentioning(str(scratch)))

        running = wait_state(refreshing, SETTLE_TIMEOUT, "refreshing")
        code = server.stop(signal.SIGTERM)
        left = processes_mentioning(str(scratch))
    finally:
        server.stop()
        for pid in processes_mentioning(str(scratch)):  # only the wrapper script, started for this test
            os.kill(pid, signal.SIGKILL)
    assert code == 0, server.output()
    assert left == {}, f"still running after the server exited: {left} (was running: {running})"
    assert not any("Traceback" in line for line in server.stderr), server.output()
    assert not list(scratch.iterdir()), "temp files left behind"


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid``."""
    parents: dict[int, set[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if stat[0] not in ("Z", "X"):
                parents.setdefault(int(stat[1]), set()).add(int(proc.name))
    found, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), ()):
            found.add(child)
            todo.append(child)
    return found


def test_stop_during_a_first_start_ends_its_worker_processes(tmp_path: Path, start_server):
    """1,500 forms are checked in worker processes on a first start (the server meanwhile serves
    a department's pages); a stop then ends them instead of leaving them checking."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from corpus import write_corpus
    finally:
        sys.path.remove(str(REPO / "bench"))
    project = write_corpus(tmp_path / "big", 1500, search=False)
    server = start_server(project, watching=False)
    if not server.wait_until(lambda: any(line.startswith("checking every form") for line in server.stdout),
                             SETTLE_TIMEOUT):
        pytest.fail(f"no first check in worker processes\n{server.output()}")
    workers = wait_state(lambda: len(descendants(server.proc.pid)) >= 2 and descendants(server.proc.pid),
                         SETTLE_TIMEOUT, "checking in worker processes")
    page = server.get("/departments/dept-00000/2019/index.html")  # made from its folder meanwhile
    assert page.status == 200 and "基准测试部门00000" in page.text, page.text[:500]
    assert server.get("/").status == 503  # the overview waits for every form
    assert not any(line.startswith("rebuilt") for line in server.stdout), "the check ended before the stop"
    code = server.stop(signal.SIGTERM)
    assert code == 0, server.output()
    wait_state(lambda: not any(_alive(pid) for pid in workers), 10.0, "the worker processes ended")
    checked = len(list((project / ".perfsite-cache" / "serve" / "units").glob("*.meta")))
    assert checked < 300, f"all {checked} departments were checked after the stop"
    assert not any("Traceback" in line for line in server.stderr), server.output()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


# --------------------------------------------------------------------------- 8: never dies

SITE = Path("content/site.yaml")
BREAKAGES = {
    "site.yaml unknown key": (SITE, lambda text: text + "no_such_setting: 1\n", r"content/site\.yaml"),
    "site.yaml bad YAML": (SITE, lambda text: text + "title: [\n", r"content/site\.yaml:\d+"),
    "site.yaml emptied": (SITE, lambda text: "", r"site\.yaml"),
    "site.yaml unknown theme": (SITE, lambda text: text + "theme: nonexistent\n", r"nonexistent"),
    "record bad number": (RECORD, lambda text: text.replace("score: 40", "score: 四十"),
                          r"content/departments/alpha/2021\.yaml:\d+"),
    "record not UTF-8": (RECORD, lambda text: text.replace(REASON, "\udcff", 1), r"2021\.yaml"),
    "record is a list": (RECORD, lambda text: "- 1\n- 2\n", r"content/departments/alpha/2021\.yaml"),
    "template syntax": (Path("overrides/templates/form.html"),
                        lambda text: '{% extends "!theme/form.html" %}{% block content %}{% if %}{% endblock %}',
                        r"form\.html:\d+"),
    "template undefined": (Path("overrides/templates/form.html"),
                           lambda text: '{% extends "!theme/form.html" %}{% block content %}{{ nope.x }}'
                                        "{% endblock %}", r"form\.html"),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES.values()), ids=list(BREAKAGES))
def test_bad_input_never_kills_the_server(served: ServeProcess, tiny_project: Path, breakage):
    server = served
    rel, breaker, located = breakage
    target = tiny_project / rel
    good = target.read_bytes() if target.exists() else None
    good_page = server.text("/" + FORM)
    assert REASON in good_page

    broken = breaker(good.decode("utf-8") if good else "")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(broken.encode("utf-8", "surrogateescape"))
    response = server.wait_for("/" + FORM, has_overlay, "showing the overlay")
    assert response.status == 200
    assert REASON in response.text, "the last good site stays served"
    overlay = response.text[response.text.index('id="perfsite-error-overlay"'):]
    assert re.search(located, overlay), f"overlay does not locate the problem ({located}):\n{overlay[:2000]}"
    assert "Traceback" not in overlay, f"an expected error shown as a crash:\n{overlay[:3000]}"
    assert server.get("/data/by-year/2021/reports.json").status == 200
    assert server.alive()

    if good is None:
        target.unlink()
    else:
        target.write_bytes(good.replace(REASON.encode(), "恢复了6610".encode()) if rel == RECORD else good)
    recovered = server.wait_for("/" + FORM, lambda r: not has_overlay(r), "recovered")
    assert recovered.status == 200
    if rel == RECORD:
        server.wait_for("/" + FORM, lambda r: "恢复了6610" in r.text, "showing the fixed record")
    assert server.alive()
    assert not any("Traceback" in line for line in server.stderr), server.output()


def test_overlay_shows_the_error_as_text(served: ServeProcess, tiny_project: Path):
    """An error message quotes the bad value; markup in it must not become markup in the page."""
    edit_record(tiny_project, "score: 40", 'score: "<img src=x onerror=alert(1)>"')
    response = served.wait_for("/" + FORM, has_overlay, "showing the overlay")
    overlay = response.text[response.text.index('id="perfsite-error-overlay"'):]
    assert "&lt;img src=x onerror=alert(1)&gt;" in overlay, overlay[:2000]
    assert "<img src=x" not in response.text


def test_a_project_broken_at_start_is_served_once_fixed(tiny_project: Path, start_server):
    record = tiny_project / RECORD
    good = record.read_text(encoding="utf-8")
    record.write_text(good + "bad: [\n", encoding="utf-8")
    server = start_server(tiny_project)
    first = server.get("/" + FORM)
    assert has_overlay(first), first.text[:2000]
    assert re.search(r"content/departments/alpha/2021\.yaml:\d+", first.text)

    record.write_text(good, encoding="utf-8")
    fixed = server.wait_for("/" + FORM, lambda r: r.status == 200 and not has_overlay(r), "the built form")
    assert REASON in fixed.text


# --------------------------------------------------------------------------- report


@pytest.fixture(scope="module", autouse=True)
def report_latencies(request):
    """Not a check: prints the save → visible times measured by the browser tests."""
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or not LATENCIES:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        for what, seconds in LATENCIES:
            reporter.write_line(f"perfsite serve: save → visible ({what}): {seconds * 1000:.0f} ms")
    LATENCIES.clear()


def test_foreign_host_names_are_refused(secured: ServeProcess):
    """DNS rebinding: a page on another site must not read the preview through a name pointing here."""
    import http.client

    for host, expected in ((f"evil.example:{secured.port}", 403), (f"localhost:{secured.port}", 200),
                           (f"127.0.0.1:{secured.port}", 200)):
        for path in ("/", "/livereload.js"):
            connection = http.client.HTTPConnection("127.0.0.1", secured.port, timeout=10)
            connection.request("GET", path, headers={"Host": host})
            response = connection.getresponse()
            response.read()
            connection.close()
            assert response.status == expected, (host, path, response.status)


def test_the_error_overlay_speaks_the_sites_language():
    from generator.serve.http_app import error_overlay

    chinese = error_overlay("content/x.yaml:1:1: <b>bad</b>", "zh-CN").decode()
    english = error_overlay("content/x.yaml:1:1: <b>bad</b>", "en").decode()
    assert "最近一次修改无法生成网站" in chinese and 'lang="zh-CN"' in chinese
    assert "the last edit does not build" in english and "最近" not in english
    assert "&lt;b&gt;bad&lt;/b&gt;" in chinese and "<b>" not in chinese

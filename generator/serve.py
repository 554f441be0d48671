"""``perfsite serve``: build in memory, serve, watch, rebuild what changed, reload the browser.

The site lives in memory (:class:`~generator.sitestate.SiteState`), so the output folder
is never written or watched, and a request can only ever reach a file the build made:
dotfiles, ``..`` and symlinks have nothing to resolve to. Reloading goes through the
``livereload`` package's WebSocket protocol (its browser script and handler), behind
:func:`notify_reload`; its file watcher and its 3-second reload throttle are not used,
so two quick saves both reach the browser. A broken edit keeps the last good site and
shows the located error as an overlay on every page until it is fixed.
"""

from __future__ import annotations

import gc
import html
import ipaddress
import mimetypes
import os
import signal
import sys
import threading
import time
import traceback
import types
import urllib.parse
from pathlib import Path

from .config import themes_root
from .errors import ContentError, PerfsiteError
from .search import BUNDLE, search_bundle
from .sitestate import SiteState

POLL_SECONDS = 0.1
SEARCH_DELAY_SECONDS = 3.0
QUIET_SECONDS = 0.05
IGNORED_NAMES = {"__pycache__", ".git", "node_modules"}


def snapshot(roots: list[Path]) -> dict[str, tuple[int, int]]:
    """mtime and size of every file below the roots (hidden files and folders skipped)."""
    found: dict[str, tuple[int, int]] = {}
    stack = [r for r in roots if r.is_dir()]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(".") or entry.name in IGNORED_NAMES:
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                else:
                    st = entry.stat(follow_symlinks=False)
                    found[entry.path] = (st.st_mtime_ns, st.st_size)
            except OSError:
                continue
    return found


def changed_paths(before: dict, after: dict) -> set[Path]:
    return {Path(p) for p in set(before) ^ set(after)} | {Path(p) for p in before if p in after
                                                           and before[p] != after[p]}


def inject(body: bytes, port_script: bytes, overlay: bytes = b"") -> bytes:
    """Put the reload script (and an error overlay) into an HTML page, with or without </body>."""
    addition = overlay + port_script
    lower = body.lower()
    for marker in (b"</body>", b"</html>"):
        at = lower.rfind(marker)
        if at != -1:
            return body[:at] + addition + body[at:]
    return body + addition


def error_overlay(message: str) -> bytes:
    """The located error, shown over the last good page; plain text, escaped."""
    text = html.escape(message)
    return (
        '<div id="perfsite-error-overlay" role="alert" style="position:fixed;inset:0;z-index:2147483647;'
        "background:rgba(20,20,20,.92);color:#fff;overflow:auto;padding:24px;font:14px/1.5 monospace\">"
        '<p style="font:bold 18px sans-serif;color:#ff8a80;margin:0 0 12px">perfsite: the last edit does not '
        "build — showing the last good site underneath; fix the file and this page reloads.</p>"
        f'<pre style="white-space:pre-wrap;margin:0">{text}</pre></div>'
    ).encode()


class DevServer:
    """The state shared by the watcher thread and the HTTP handlers."""

    def __init__(self, project_dir: Path, log=print):
        self.project_dir = project_dir.resolve()
        self.state = SiteState(self.project_dir, preview=True)
        self.files: dict[str, bytes] = {}
        self.error: str | None = None
        self.log = log
        self.lock = threading.Lock()
        self.on_change = lambda: None  # set by the HTTP side: reloads the browsers
        self.stop = threading.Event()

    def watched_roots(self) -> list[Path]:
        return [self.project_dir / "content", self.project_dir / "overrides", themes_root()]

    def rebuild(self, changed: set[Path] | None) -> None:
        """One (incremental) build; on failure keep the last good files and remember the error."""
        with self.lock:
            started = time.perf_counter()
            full = self.error is not None or changed is None
            try:
                # the search index is slow to remake: after an edit it is refreshed in the background
                update = self.state.update(None if full else changed, with_search=full)
            except ContentError as exc:
                self._fail("\n".join(str(p) for p in exc.problems))
                return
            except PerfsiteError as exc:
                self._fail(str(exc))
                return
            except Exception:  # a bug must not kill the preview: show it, keep serving
                self.state = SiteState(self.project_dir, preview=True)
                self._fail("unexpected error (please report it):\n" + traceback.format_exc())
                return
            self.files = update.files
            self.error = None
            if not full and self.state.config.search:
                self._refresh_search_soon()
            what = ", ".join(sorted(p.relative_to(self.project_dir).as_posix() if p.is_relative_to(
                self.project_dir) else p.name for p in changed)) if changed else "everything"
            self.log(f"rebuilt {len(update.rendered)} of {update.pages} pages in "
                     f"{time.perf_counter() - started:.3f} s ({what})")

    def _refresh_search_soon(self) -> None:
        """Re-index after edits stop for a moment, without holding up reloads."""
        self._search_generation = getattr(self, "_search_generation", 0) + 1
        generation = self._search_generation
        previous = getattr(self, "_search_cancel", None)
        if previous is not None:
            previous.set()  # a newer edit: the running refresh would be stale anyway
        cancel = self._search_cancel = threading.Event()

        def stopped() -> bool:
            return self.stop.is_set() or cancel.is_set()

        def refresh() -> None:
            deadline = time.monotonic() + SEARCH_DELAY_SECONDS
            while time.monotonic() < deadline:  # wait for the edits to pause
                if stopped() or self.stop.wait(0.1):
                    return
            pages = [(k, v) for k, v in self.files.items() if k.endswith(".html")]
            try:
                bundle = search_bundle(pages, cancel=_Either(self.stop, cancel))
            except PerfsiteError as exc:
                if not stopped():
                    self.log(f"search index not refreshed: {exc}")
                return
            with self.lock:
                if generation == self._search_generation:
                    self.state.search_files = bundle
                    stale = [k for k in self.files if k.startswith(BUNDLE + "/") and k not in bundle]
                    files = {k: v for k, v in self.files.items() if k not in stale}
                    files.update(bundle)
                    self.files = files
                    self.log("search index refreshed")

        self._search_thread = threading.Thread(target=refresh, name="perfsite-search", daemon=True)
        self._search_thread.start()

    def join_search(self, timeout: float) -> None:
        """Wait for a running index refresh to notice the stop and end its Pagefind process."""
        thread = getattr(self, "_search_thread", None)
        if thread is not None:
            thread.join(timeout)

    def _fail(self, message: str) -> None:
        self.error = message
        self.log("build failed; still serving the last good site:\n" + message)

    def watch(self, stop: threading.Event, before: dict | None = None) -> None:
        """Poll the sources; coalesce a burst of events into one rebuild."""
        before = snapshot(self.watched_roots()) if before is None else before
        while not stop.wait(POLL_SECONDS):
            after = snapshot(self.watched_roots())
            changed = changed_paths(before, after)
            if not changed:
                continue
            while not stop.wait(QUIET_SECONDS):  # wait for the burst to settle
                settled = snapshot(self.watched_roots())
                more = changed_paths(after, settled)
                if not more:
                    break
                changed |= more
                after = settled
            before = after
            self.rebuild(changed)
            self.on_change()


class _Either:
    """Set when either event is (the stop of the server, or a newer edit)."""

    def __init__(self, *events: threading.Event):
        self.events = events

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)


def notify_reload(path: str = "*") -> None:
    """Tell every connected browser to reload (the livereload protocol). The one place
    that knows how reloading works, so the mechanism can be swapped."""
    from livereload.handlers import LiveReloadHandler

    LiveReloadHandler.reload_waiters(path)


def host_allowed(host_header: str, bound: str) -> bool:
    """Only names of this machine: a page on another site cannot read the preview through a
    DNS name that points here (DNS rebinding). Binding a public address shares it on purpose."""
    if not is_loopback(bound) and bound not in ("localhost",):
        return True
    name = urllib.parse.urlsplit("//" + host_header).hostname or ""
    return is_loopback(name.strip("[]")) or name == "localhost"


def make_app(server: DevServer, port_holder: dict, bound_host: str = "127.0.0.1"):
    from livereload.handlers import LiveReloadHandler, LiveReloadJSHandler
    from tornado import web

    # livereload's handler logs through its watcher; we drive reloads ourselves
    LiveReloadHandler.watcher = types.SimpleNamespace(filepath=None)

    class ReloadSocket(LiveReloadHandler):
        def check_origin(self, origin: str) -> bool:
            return host_allowed(urllib.parse.urlsplit(origin).netloc, bound_host)

    class ReloadScript(LiveReloadJSHandler):
        def set_default_headers(self):
            self.set_header("Cache-Control", "no-store")

        def prepare(self):
            if not host_allowed(self.request.host, bound_host):
                raise web.HTTPError(403)

    class SiteHandler(web.RequestHandler):
        def set_default_headers(self):
            self.set_header("Cache-Control", "no-store")
            self.set_header("X-Content-Type-Options", "nosniff")

        def prepare(self):
            if not host_allowed(self.request.host, bound_host):
                raise web.HTTPError(403)

        def get(self, _path: str) -> None:
            self._serve(head=False)

        def head(self, _path: str) -> None:
            self._serve(head=True)

        def _serve(self, head: bool) -> None:
            key, status = resolve(self.request.path, server.files)
            if status == 301:
                self.redirect(key, permanent=False)
                return
            body = server.files.get(key) if key else None
            if body is None:
                self.set_status(status if status != 200 else 404)
                key = "404.html"
                body = server.files.get(key, b"<!DOCTYPE html><title>404</title><h1>404</h1>")
            content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
            if content_type == "text/html":
                content_type += "; charset=utf-8"
                script = f'<script src="/livereload.js?port={port_holder["port"]}"></script>'.encode()
                overlay = error_overlay(server.error) if server.error else b""
                body = inject(body, script, overlay)
            elif content_type.startswith(("text/", "application/json", "application/xml")):
                content_type += "; charset=utf-8"
            self.set_header("Content-Type", content_type)
            if not head:
                self.write(body)

    return web.Application([
        (r"/livereload", ReloadSocket),
        (r"/livereload.js", ReloadScript),
        (r"/(.*)", SiteHandler),
    ])


def resolve(raw_path: str, files: dict[str, bytes]) -> tuple[str | None, int]:
    """A request path to a key of the in-memory site, or why not (403 for what is refused)."""
    path = urllib.parse.unquote(raw_path)
    if "\0" in path or "\\" in path:
        return None, 403
    parts = [p for p in path.split("/") if p]
    if any(p.startswith(".") for p in parts):  # dotfiles, "." and ".." are never served
        return None, 403
    key = "/".join(parts)
    if not key or path.endswith("/"):
        key = f"{key}/index.html" if key else "index.html"
    if key in files:
        return key, 200
    if f"{key}/index.html" in files:
        return "/" + key + "/", 301
    return None, 404


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(project_dir: Path, host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False) -> int:
    import asyncio

    from tornado import httpserver, ioloop

    def log(message: str) -> None:
        print(message, flush=True)

    if not is_loopback(host):
        print(f"warning: serving on {host}: the preview is reachable from other machines on your "
              "network. Use the default 127.0.0.1 unless you mean to share it.", file=sys.stderr, flush=True)
    server = DevServer(project_dir, log)
    stop = threading.Event()
    server.stop = stop
    asyncio.set_event_loop(asyncio.new_event_loop())
    loop = ioloop.IOLoop.current()
    for signum in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C and SIGTERM: stop cleanly, exit 0
        asyncio.get_event_loop().add_signal_handler(signum, loop.stop)
    # the watcher's baseline is taken before the first build, so an edit saved during it is seen
    baseline = snapshot(server.watched_roots())
    server.rebuild(None)
    # the first build's objects live as long as the server: keep the collector off them
    gc.collect()
    gc.freeze()
    port_holder = {"port": port}
    http = httpserver.HTTPServer(make_app(server, port_holder, host))
    try:
        sockets = http_sockets(port, host)
    except OSError as exc:
        raise PerfsiteError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    http.add_sockets(sockets)
    port_holder["port"] = sockets[0].getsockname()[1]
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port_holder['port']}/"
    server.on_change = lambda: loop.add_callback(notify_reload)
    watcher = threading.Thread(target=server.watch, args=(stop, baseline), name="perfsite-watch", daemon=True)
    watcher.start()
    if open_browser:
        import webbrowser

        loop.add_callback(webbrowser.open, url)
    log(f"serving {server.project_dir} on {url} (Ctrl-C to stop)")
    try:
        loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        http.stop()
        for sock in sockets:
            sock.close()
        watcher.join(timeout=5)
        server.join_search(timeout=10)
        log("stopped")
    return 0


def http_sockets(port: int, host: str):
    from tornado.netutil import bind_sockets

    return bind_sockets(port, address=host, reuse_port=False)

"""``perfsite serve``: serve the site as it is now, watch, re-check what changed, reload the browser.

Nothing is rendered ahead: the site is a :class:`~generator.serve.preview.Snapshot` of the
department records, and each file is made when a browser asks for it, so the first page of
a big site comes in seconds and an edit re-checks one department folder. The output folder
is never written or watched, and a request can only ever reach a file the site has:
dotfiles, ``..`` and symlinks have nothing to resolve to. Each update is swapped in as one
:class:`Shown` with a new version, and every open page reloads until it shows the latest
one, whatever the gap between saves (:mod:`generator.serve.http_app`). livereload's file
watcher and its 3-second reload throttle are not used. A broken edit keeps the last good
site and shows the located error as an overlay on every page until it is fixed.
"""

from __future__ import annotations

import gc
import secrets
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import ContentError, PerfsiteError
from .http_app import is_loopback, make_app, notify_reload
from .preview import EarlySite, PreviewSite, Snapshot, Stopped, search_files
from .watch import Watcher, next_changes, watched_roots, watcher

SEARCH_DELAY_SECONDS = 3.0
PORTS = range(0, 65536)  # 0 asks the system for a free port


class SiteFiles:
    """What a request can reach: the snapshot's files (None before the first one is made)
    and the search bundle's."""

    def __init__(self, snapshot: Snapshot | EarlySite | None, search: dict[str, bytes]):
        self.snapshot, self.search = snapshot, search

    @property
    def ready(self) -> bool:
        """Whether every file is there (not before the first start has checked every form)."""
        return self.snapshot is not None and self.snapshot.ready

    def __contains__(self, rel: str) -> bool:
        return rel in self.search or (self.snapshot is not None and rel in self.snapshot)

    def get(self, rel: str, default: bytes | None = None) -> bytes | None:
        if rel in self.search:
            return self.search[rel]
        return self.snapshot.get(rel, default) if self.snapshot is not None else default


@dataclass(frozen=True)
class Shown:
    """What the server shows, swapped as one object so that a request never mixes two versions
    and the version a page is served with is the version of the files it came from."""

    files: SiteFiles
    error: str | None
    version: str


class DevServer:
    """The state shared by the watcher thread and the HTTP handlers."""

    def __init__(self, project_dir: Path, log=print):
        self.project_dir = project_dir.resolve()
        self.state = PreviewSite(self.project_dir)
        self._boot = secrets.token_hex(4)  # a page from an earlier run of the server is stale too
        self._builds = 0
        self.shown = Shown(SiteFiles(None, {}), None, self._next_version())
        self.log = log
        self.lock = threading.Lock()
        self.on_change = lambda: None  # set by the HTTP side: reloads the browsers
        self.stop = threading.Event()
        self._search_kept: dict = {}  # each search bundle with what it was made from

    def language(self) -> str:
        """The site's language, for the server's own messages on pages (the last good site.yaml's)."""
        config = getattr(self.state, "config", None)
        return getattr(config, "language", "zh-CN")

    def watched_roots(self) -> list[Path]:
        return watched_roots(self.project_dir)

    def _next_version(self) -> str:
        self._builds += 1
        return f"{self._boot}-{self._builds}"

    def rebuild(self, changed: set[Path] | None) -> None:
        """Bring the site up to date; on failure keep the last good one and remember the error."""
        with self.lock:
            started = time.perf_counter()
            full = self.shown.error is not None or changed is None
            try:
                update = self.state.update(None if full else changed, progress=self._progress, early=self._early,
                                           stop=self.stop)
            except Stopped:
                return
            except ContentError as exc:
                self._fail("\n".join(str(p) for p in exc.problems))
                return
            except PerfsiteError as exc:
                self._fail(str(exc))
                return
            except Exception:  # a bug must not kill the preview: show it, keep serving
                self.state = PreviewSite(self.project_dir)
                self._fail("unexpected error (please report it):\n" + traceback.format_exc())
                return
            self.shown = Shown(SiteFiles(update.snapshot, self.shown.files.search), None, self._next_version())
            if update.snapshot.config.search:
                self._refresh_search_soon()
            elif self.shown.files.search:
                self.shown = replace(self.shown, files=SiteFiles(update.snapshot, {}))
            what = ", ".join(sorted(p.relative_to(self.project_dir).as_posix() if p.is_relative_to(
                self.project_dir) else p.name for p in changed)) if changed else "everything"
            self.log(f"rebuilt in {time.perf_counter() - started:.3f} s ({what}): {update.rechecked} of "
                     f"{update.departments} department folders checked; pages are made when asked for")

    def _early(self, early: EarlySite) -> None:
        """A first start checking many forms: show the departments' pages meanwhile (no reload)."""
        self.shown = replace(self.shown, files=SiteFiles(early, {}))
        self.log("checking every form for the preview; a department's pages can be opened meanwhile")

    def _progress(self, done: int, total: int) -> None:
        step = max(1, total // 10)
        if done == total or done // step != getattr(self, "_last_step", -1):
            self._last_step = done // step
            self.log(f"checking forms: {done} of {total}")

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
            indexed = self.shown.files.snapshot
            try:
                bundle, kept = search_files(indexed, _Either(self.stop, cancel), self._search_kept)
            except PerfsiteError as exc:
                if not stopped():
                    self.log(f"search index not refreshed: {exc}")
                return
            with self.lock:
                if generation == self._search_generation:
                    self._search_kept = kept
                    shown = self.shown
                    self.shown = replace(shown, files=SiteFiles(shown.files.snapshot, bundle))  # no reload
                    self.log("search index refreshed")

        self._search_thread = threading.Thread(target=refresh, name="perfsite-search", daemon=True)
        self._search_thread.start()

    def join_search(self, timeout: float) -> None:
        """Wait for a running index refresh to notice the stop and end its Pagefind process."""
        thread = getattr(self, "_search_thread", None)
        if thread is not None:
            thread.join(timeout)

    def _fail(self, message: str) -> None:
        self.shown = Shown(self.shown.files, message, self._next_version())
        self.log("build failed; still serving the last good site:\n" + message)

    def first_build(self, stop: threading.Event, watching: Watcher) -> None:
        """The first update, then the watch; in the watcher's thread, so the server answers
        (with a page that waits) while a site without a preview cache is checked."""
        self.rebuild(None)
        gc.collect()
        gc.freeze()  # the first update's objects live as long as the server: keep the collector off them
        self.on_change()
        self.watch(stop, watching)

    def watch(self, stop: threading.Event, watching: Watcher) -> None:
        """Wait for changes; coalesce a burst of them into one rebuild."""
        while not stop.is_set():
            changed = next_changes(watching, stop)
            if changed:
                self.rebuild(changed)
                self.on_change()


class _Either:
    """Set when either event is (the stop of the server, or a newer edit)."""

    def __init__(self, *events: threading.Event):
        self.events = events

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)


def serve(project_dir: Path, host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False) -> int:
    """Serve until Ctrl-C or SIGTERM (exit 0). When the reader of the log goes away
    (``perfsite serve | head -1``) the server stops cleanly too and then raises
    BrokenPipeError, which the CLI turns into the quiet exit every command makes."""
    import asyncio

    from tornado import httpserver, ioloop

    if port not in PORTS:  # getaddrinfo would quietly take 99999 modulo 65536
        raise PerfsiteError(f"port {port} is out of range: use 0-65535 (0 picks a free port)")
    asyncio.set_event_loop(asyncio.new_event_loop())
    loop = ioloop.IOLoop.current()
    output_closed = threading.Event()

    def log(message: str) -> None:
        try:
            print(message, flush=True)
        except BrokenPipeError:
            output_closed.set()
            loop.add_callback(loop.stop)  # thread-safe; before loop.start() it stops it at once

    if not is_loopback(host):
        print(f"warning: serving on {host}: the preview is reachable from other machines on your "
              "network. Use the default 127.0.0.1 unless you mean to share it.", file=sys.stderr, flush=True)
    server = DevServer(project_dir, log)
    stop = threading.Event()
    server.stop = stop
    for signum in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C and SIGTERM: stop cleanly, exit 0
        asyncio.get_event_loop().add_signal_handler(signum, loop.stop)
    # the watcher's baseline is taken before the first build, so an edit saved during it is seen
    watching = watcher(server.watched_roots())  # before the first update: an edit saved during it is seen
    port_holder = {"port": port}
    http = httpserver.HTTPServer(make_app(server, port_holder, host))
    try:
        sockets = http_sockets(port, host)
    except OSError as exc:
        raise PerfsiteError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    http.add_sockets(sockets)
    port_holder["port"] = sockets[0].getsockname()[1]
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port_holder['port']}/"
    server.on_change = lambda: loop.add_callback(lambda: notify_reload(server.shown.version))
    watch_thread = threading.Thread(target=server.first_build, args=(stop, watching), name="perfsite-watch",
                                    daemon=True)
    watch_thread.start()
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
        watch_thread.join(timeout=5)
        if not watch_thread.is_alive():
            watching.close()
        server.join_search(timeout=10)
        log("stopped")
    if output_closed.is_set():
        raise BrokenPipeError("nobody reads the output of perfsite serve")
    return 0


def http_sockets(port: int, host: str):
    from tornado.netutil import bind_sockets

    return bind_sockets(port, address=host, reuse_port=False)

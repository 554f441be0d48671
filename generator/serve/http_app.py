"""The dev server's HTTP side: the in-memory site over HTTP, and reloading the open pages.

Reloading speaks the ``livereload`` package's WebSocket protocol (its browser script and
handler). livereload.js only reloads a page whose socket is open when a build is swapped
in; during the page's own reload there is none, so a second save landing then used to be
lost. Each page is therefore served with the version of the build it shows, its script
reports that version when it connects, and a page behind the current build reloads at once.
"""

from __future__ import annotations

import html
import ipaddress
import json
import mimetypes
import traceback
import urllib.parse

from ..errors import PerfsiteError
from .preview import Changed

# A livereload.js plugin (its hook for extensions): the 'info' message it sends once connected
# carries the build version the page was served with, which livereload.js parsed from its own
# URL into its options (none: a page we did not serve, left to the next change).
RELOAD_PLUGIN = b"""window.LiveReloadPluginPerfsite = (function () {
  function Plugin(window, host) { this.options = host._livereload.options; }
  Plugin.identifier = "perfsite";
  Plugin.version = "1";
  Plugin.prototype.analyze = function () {
    var build = this.options.perfsite_build;
    return build == null ? {} : {build: String(build)};
  };
  return Plugin;
})();
"""


def inject(body: bytes, port_script: bytes, overlay: bytes = b"") -> bytes:
    """Put the reload script (and an error overlay) into an HTML page, with or without </body>."""
    addition = overlay + port_script
    lower = body.lower()
    for marker in (b"</body>", b"</html>"):
        at = lower.rfind(marker)
        if at != -1:
            return body[:at] + addition + body[at:]
    return body + addition


OVERLAY_HEADINGS = {
    "zh-CN": "perfsite：最近一次修改无法生成网站——下面仍显示上一次成功生成的页面；改正下列文件后本页会自动刷新。",
    "en": "perfsite: the last edit does not build — showing the last good site underneath; fix the file and "
          "this page reloads.",
}


def error_overlay(message: str, language: str = "zh-CN") -> bytes:
    """The located error, shown over the last good page in the site's language; plain text, escaped."""
    text = html.escape(message)
    heading = html.escape(OVERLAY_HEADINGS.get(language, OVERLAY_HEADINGS["en"]))
    return (
        f'<div id="perfsite-error-overlay" role="alert" lang="{html.escape(language)}" style="position:fixed;'
        "inset:0;z-index:2147483647;background:rgba(20,20,20,.92);color:#fff;overflow:auto;padding:24px;"
        'font:14px/1.5 monospace"><p style="font:bold 18px sans-serif;color:#ff8a80;margin:0 0 12px">'
        f'{heading}</p><pre style="white-space:pre-wrap;margin:0" lang="en">{text}</pre></div>'
    ).encode()


WAITING = {
    "zh-CN": "perfsite：正在读取并核对全部报表，预览马上就好；完成后本页会自动刷新。",
    "en": "perfsite: reading and checking every form for the preview; this page reloads when it is ready.",
}


def notify_reload(version: str) -> None:
    """Tell every connected page that does not show ``version`` yet to reload (the livereload
    protocol); runs on the IO loop. The one place that knows how reloading works, so the
    mechanism can be swapped."""
    from livereload.handlers import LiveReloadHandler
    from tornado.websocket import WebSocketClosedError

    for waiter in list(LiveReloadHandler.waiters):
        if getattr(waiter, "shows", None) != version:
            waiter.shows = version  # told once: a second message would only restart its reload
            try:
                waiter.write_message({"command": "reload", "path": "*", "liveCSS": False, "liveImg": False})
            except WebSocketClosedError:
                LiveReloadHandler.waiters.discard(waiter)


def page_version(message: str) -> str | None:
    """The build version an 'info' message says its page shows (None: not one of our pages)."""
    data = json.loads(message)
    plugins = data.get("plugins") if isinstance(data, dict) and data.get("command") == "info" else None
    plugin = plugins.get("perfsite") if isinstance(plugins, dict) else None
    build = plugin.get("build") if isinstance(plugin, dict) else None
    return str(build) if build is not None else None


def host_allowed(host_header: str, bound: str) -> bool:
    """Only names of this machine: a page on another site cannot read the preview through a
    DNS name that points here (DNS rebinding). Binding a public address shares it on purpose."""
    if not is_loopback(bound) and bound not in ("localhost",):
        return True
    name = urllib.parse.urlsplit("//" + host_header).hostname or ""
    return is_loopback(name.strip("[]")) or name == "localhost"


def make_app(server, port_holder: dict, bound_host: str = "127.0.0.1"):
    from livereload.handlers import LiveReloadHandler, LiveReloadJSHandler
    from tornado import web

    class ReloadSocket(LiveReloadHandler):
        shows: str | None = None

        def check_origin(self, origin: str) -> bool:
            return host_allowed(urllib.parse.urlsplit(origin).netloc, bound_host)

        def on_message(self, message) -> None:
            super().on_message(message)  # the handshake: 'info' adds the page to the waiters
            version = page_version(message) if self in self.waiters else None
            if version is not None:  # a build swapped in while the page loaded: reload it now
                self.shows = version
                notify_reload(server.shown.version)

    class ReloadScript(LiveReloadJSHandler):
        def set_default_headers(self):
            self.set_header("Cache-Control", "no-store")

        def prepare(self):
            if not host_allowed(self.request.host, bound_host):
                raise web.HTTPError(403)

        def get(self) -> None:
            self.write(RELOAD_PLUGIN)
            super().get()

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
            shown = server.shown  # one version for the whole response
            try:
                key, status = resolve(self.request.path, shown.files)
            except Changed as exc:
                self._message(503, server.language(), str(exc), shown.version, head)
                return
            if status == 404 and not shown.files.ready and shown.error is None:  # a first start, still checking
                self._message(503, server.language(), WAITING, shown.version, head)
                return
            if status == 301:
                self.redirect(key, permanent=False)
                return
            try:
                body = shown.files.get(key) if key else None
            except Changed as exc:  # a record changed under the page: the next version comes soon
                self._message(503, server.language(), str(exc), shown.version, head)
                return
            except PerfsiteError as exc:  # a template that fails on this page only: shown like any error
                self._error(str(exc), shown.version, head)
                return
            except Exception:  # a bug must not kill the preview: show it, keep serving
                message = "unexpected error (please report it):\n" + traceback.format_exc()
                server.log(f"{self.request.path}: {message}")
                self._error(message, shown.version, head)
                return
            if body is None:
                self.set_status(status if status != 200 else 404)
                key = "404.html"
                body = shown.files.get(key, b"<!DOCTYPE html><title>404</title><h1>404</h1>")
            content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
            if content_type == "text/html":
                content_type += "; charset=utf-8"
                body = inject(body, reload_script(port_holder["port"], shown.version),
                              error_overlay(shown.error, server.language()) if shown.error else b"")
            elif content_type.startswith(("text/", "application/json", "application/xml")):
                content_type += "; charset=utf-8"
            self.set_header("Content-Type", content_type)
            if not head:
                self.write(body)

        def _error(self, message: str, version: str, head: bool) -> None:
            self.set_status(500)
            self.set_header("Content-Type", "text/html; charset=utf-8")
            if not head:
                script, overlay = reload_script(port_holder["port"], version), error_overlay(message, server.language())
                self.write(inject(b"<!DOCTYPE html><title>perfsite</title>", script, overlay))

        def _message(self, status: int, language: str, text: dict | str, version: str, head: bool) -> None:
            """A page of the server's own, which reloads with the next version of the site."""
            message = text.get(language, text["en"]) if isinstance(text, dict) else text
            self.set_status(status)
            self.set_header("Content-Type", "text/html; charset=utf-8")
            if not head:
                self.write(f'<!DOCTYPE html><html lang="{html.escape(language)}"><meta charset="utf-8">'
                           f'<title>perfsite</title><p>{html.escape(message)}</p>'.encode()
                           + reload_script(port_holder["port"], version) + b"</html>")

    return web.Application([
        (r"/livereload", ReloadSocket),
        (r"/livereload.js", ReloadScript),
        (r"/(.*)", SiteHandler),
    ])


def reload_script(port: int, version: str) -> bytes:
    """The livereload.js tag; the plugin reads the version from its URL."""
    return f'<script src="/livereload.js?port={port}&amp;perfsite_build={version}"></script>'.encode()


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

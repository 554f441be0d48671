"""Save-to-reload latency of ``perfsite serve`` on a large site (not a test).

    python bench/serve_latency.py --forms 2000 --edits 5

Starts the real server on a generated corpus, connects as a livereload browser client
over the WebSocket, then edits one record at a time and measures the time from the
file write to the reload message (and to the fetched page containing the new value).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpus import write_corpus  # noqa: E402


async def measure(url: str, record: Path, page: str, edits: int) -> list[tuple[float, float]]:
    from tornado.websocket import websocket_connect

    ws = await websocket_connect(url.replace("http://", "ws://") + "livereload")
    await ws.write_message(json.dumps({"command": "hello", "protocols": [
        "http://livereload.com/protocols/official-7"]}))
    await ws.read_message()
    await ws.write_message(json.dumps({"command": "info", "url": url}))
    await asyncio.sleep(0.5)
    results = []
    original = record.read_text(encoding="utf-8")
    for i in range(edits):
        marker = f"延迟测量{i}"
        started = time.perf_counter()
        record.write_text(original + f"notes: {marker}\n", encoding="utf-8")
        message = await asyncio.wait_for(ws.read_message(), timeout=30)
        reload_at = time.perf_counter() - started
        assert json.loads(message)["command"] == "reload"
        body = urllib.request.urlopen(url + page).read().decode("utf-8")
        visible_at = time.perf_counter() - started
        assert marker in body, "the reloaded page is stale"
        results.append((reload_at, visible_at))
        await asyncio.sleep(1.2)
    ws.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=2000)
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--no-search", action="store_true", help="a site without the search index")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="perfsite-serve-bench-"))
    server = None
    try:
        project = write_corpus(workdir / "project", args.forms, search=not args.no_search)
        record = sorted((project / "content/departments").glob("*/[0-9]*.yaml"))[len(range(args.forms)) // 2]
        page = f"departments/{record.parent.name}/{record.stem}/index.html"
        started = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-m", "generator", "serve", "-p", str(project), "--port", "0"],
                                  stdout=subprocess.PIPE, text=True)
        url = None
        for line in server.stdout:
            if line.startswith("serving "):
                url = line.split(" on ")[1].split(" ")[0]
                break
        if url is None:
            raise SystemExit("the server did not start")
        startup = time.perf_counter() - started
        results = asyncio.run(measure(url, record, page, args.edits))
    finally:
        if server:
            server.terminate()
            server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    reloads = [r for r, _ in results]
    visible = [v for _, v in results]
    print(f"forms                      {args.forms}")
    print(f"startup (first build)      {startup:.2f} s")
    print(f"save → reload message      median {statistics.median(reloads):.3f} s, max {max(reloads):.3f} s")
    print(f"save → fresh page fetched  median {statistics.median(visible):.3f} s, max {max(visible):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Start-up, memory and save-to-reload latency of ``perfsite serve`` on a large site (not a test).

    python bench/serve_latency.py --forms 10000 --edits 5 [--no-search]

Starts the real server on a generated corpus twice: a first start with no preview cache
(every form is checked) and a second start that reads the cache back. For each it reports
the time from launch to the first form page and to the overview (HTTP 200), and the peak
memory of the server's process tree (PSS, forked or spawned workers included). Then it
connects as a livereload browser client over the WebSocket, edits one record at a time and
measures the time from the file write to the reload message, to the form page fetched with
the new value, and to its year page fetched again (made from every form of that year).
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
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from benchmark import TreeSampler  # noqa: E402
from corpus import write_corpus  # noqa: E402


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=600) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_ok(url: str, started: float, deadline: float = 3600) -> float:
    """Seconds from ``started`` until ``url`` answers 200 (the server answers 503 while it prepares)."""
    while time.perf_counter() - started < deadline:
        status, _ = fetch(url)
        if status == 200:
            return time.perf_counter() - started
        time.sleep(0.05)
    raise SystemExit(f"{url} never answered 200")


def start(project: Path, page: str, log: Path) -> tuple[subprocess.Popen, str, TreeSampler, dict]:
    started = time.perf_counter()
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "generator", "serve", "-p", str(project), "--port", "0"],
                                  stdout=out, stderr=subprocess.DEVNULL, text=True)
    sampler = TreeSampler(server.pid, interval=0.05)
    sampler.start()
    url = None
    while url is None and server.poll() is None and time.perf_counter() - started < 600:
        for line in log.read_text(encoding="utf-8").splitlines():
            if line.startswith("serving "):
                url = line.split(" on ")[1].split(" ")[0]
        time.sleep(0.02)
    if url is None:
        raise SystemExit(f"the server did not start:\n{log.read_text(encoding='utf-8')}")
    times = {"listening": time.perf_counter() - started, "form_page": wait_ok(url + page, started),
             "overview": wait_ok(url, started)}
    return server, url, sampler, times


def wait_line(log: Path, prefix: str, count: int, deadline: float = 3600) -> float:
    """When the server's log has ``count`` lines starting with ``prefix`` (perf_counter)."""
    started = time.perf_counter()
    while time.perf_counter() - started < deadline:
        if sum(line.startswith(prefix) for line in log.read_text(encoding="utf-8").splitlines()) >= count:
            return time.perf_counter()
        time.sleep(0.1)
    raise SystemExit(f"no {count} '{prefix}' lines in the server's log")


def stop(server: subprocess.Popen | None, sampler: TreeSampler | None) -> None:
    if sampler is not None:
        sampler.done.set()
    if server is not None and server.poll() is None:
        server.terminate()
        server.wait(timeout=60)


async def measure(url: str, record: Path, page: str, year_page: str, edits: int) -> list[tuple[float, float, float]]:
    from tornado.websocket import websocket_connect

    ws = await websocket_connect(url.replace("http://", "ws://") + "livereload")
    await ws.write_message(json.dumps({"command": "hello", "protocols": [
        "http://livereload.com/protocols/official-7"]}))
    await ws.read_message()
    await ws.write_message(json.dumps({"command": "info", "url": url}))
    await asyncio.sleep(0.5)
    results = []
    original = record.read_text(encoding="utf-8")
    try:
        for i in range(edits):
            marker = f"延迟测量{i}"
            started = time.perf_counter()
            record.write_text(original + f"notes: {marker}\n", encoding="utf-8")
            message = await asyncio.wait_for(ws.read_message(), timeout=120)
            reload_at = time.perf_counter() - started
            assert json.loads(message)["command"] == "reload"
            status, body = fetch(url + page)
            visible_at = time.perf_counter() - started
            assert status == 200 and marker in body.decode("utf-8"), "the reloaded page is stale"
            status, _ = fetch(url + year_page)
            year_at = time.perf_counter() - started
            assert status == 200
            results.append((reload_at, visible_at, year_at))
            await asyncio.sleep(1.2)
    finally:
        record.write_text(original, encoding="utf-8")
    ws.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=2000)
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--no-search", action="store_true", help="a site without the search index")
    parser.add_argument("--project", type=Path, help="an existing corpus (kept) instead of a new one")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="perfsite-serve-bench-"))
    server = sampler = None
    starts = {}
    try:
        project = args.project or write_corpus(workdir / "project", args.forms, search=not args.no_search)
        shutil.rmtree(project / ".perfsite-cache" / "serve", ignore_errors=True)  # a first start
        records = sorted((project / "content/departments").glob("*/[0-9]*.yaml"))
        record = records[len(records) // 2]
        year, _, project_id = record.stem.partition("-")  # a project form: <year>-<project>.yaml
        page = f"departments/{record.parent.name}/{year}/" + (f"{project_id}/" if project_id else "") + "index.html"
        year_page = f"{year}/index.html"
        search = "search: false" not in (project / "content" / "site.yaml").read_text(encoding="utf-8")
        search_times = {}
        for which in ("first start (no serve cache)", "second start (cache)"):
            stop(server, sampler)
            log = workdir / "serve.log"
            started = time.perf_counter()
            server, url, sampler, times = start(project, page, log)
            time.sleep(1)  # the memory of a server at rest, besides its peak
            rebuilt = [line for line in log.read_text(encoding="utf-8").splitlines() if line.startswith("rebuilt")]
            starts[which] = (times, sampler.peak_kib / 1024, rebuilt[:1])
        if search:  # the index is made in the background after the start
            search_times["after the second start"] = wait_line(log, "search index refreshed", 1) - started
        results = asyncio.run(measure(url, record, page, year_page, args.edits))
        if search:
            saved = time.perf_counter()
            search_times["after the last save"] = wait_line(log, "search index refreshed", 2) - saved
        peak = sampler.peak_kib / 1024
    finally:
        stop(server, sampler)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"forms                          {len(records)} (search {'on' if search else 'off'})")
    for which, (times, memory, rebuilt) in starts.items():
        print(f"{which:<31}listening {times['listening']:.2f} s, form page {times['form_page']:.2f} s, "
              f"overview {times['overview']:.2f} s, peak memory {memory:.0f} MiB")
        print(f"{'':<31}server: {' '.join(rebuilt)}")
    for name, values in zip(("save → reload message", "save → form page fetched", "save → year page fetched"),
                            zip(*results, strict=True), strict=True):
        print(f"{name:<31}median {statistics.median(values):.3f} s, max {max(values):.3f} s")
    for which, seconds in search_times.items():
        print(f"{'search index made':<31}{seconds:.2f} s {which}")
    print(f"peak memory over the edits      {peak:.0f} MiB{' (with the search indexing)' if search else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

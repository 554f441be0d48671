"""Hardening, round 2: ``perfsite serve`` and the CLI's output, run as a user runs them.

- Every save reaches the open page, whatever the gap since the previous one (a real headless
  Chromium running the real livereload.js against the real server).
- A reader that goes away (``perfsite check | head -1``) ends any command quietly with 141.
- A port outside 0-65535 is an argument error (exit 2), never another port.

Waits end on events (a page condition, a line of output) under generous bounds (see
test_serve.py); the only sleep is the gap between two saves, which is the scenario itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route
from test_serve import (
    FORM,
    REASON,
    SERVING,
    SETTLE_TIMEOUT,
    STARTUP_TIMEOUT,
    STOP_TIMEOUT,
    LivePage,
    ServeProcess,
    assert_clean,
    edit_record,
    listening_addresses,
)

REPO = Path(__file__).resolve().parent.parent
PERFSITE = [sys.executable, "-m", "generator"]
EXIT_OUTPUT_CLOSED = 141  # 128 + SIGPIPE, what a shell shows for `grep ... | head -1`


@pytest.fixture
def server(tiny_project: Path):
    served = ServeProcess(tiny_project)
    try:
        yield served.wait_serving().wait_watching()
    finally:
        served.stop()


# --------------------------------------------------------------------------- 13: every save reaches the page

GAPS = [0.05, 0.3, 0.45, 0.6, 1.0, 2.0]


@pytest.mark.browser
@pytest.mark.parametrize("gap", GAPS, ids=[f"{gap}s" for gap in GAPS])
def test_second_save_reaches_the_open_page_whatever_the_gap(page: Page, server: ServeProcess, tiny_project: Path,
                                                            gap: float):
    """0.3-0.6 s used to be lost: the page was reloading for the first save (its socket
    closed) when the second was swapped in, and only F5 showed it."""
    live = LivePage(page, server).open(FORM)
    first, second = f"第一版{gap}", f"第二版{gap}"
    edit_record(tiny_project, f"reason: {REASON}", f"reason: {first}")
    time.sleep(gap)  # the gap between the two saves is the scenario, not a wait for the server
    edit_record(tiny_project, f"reason: {first}", f"reason: {second}")

    live.wait_text(second)  # never reloaded by hand
    assert first not in live.body_text()
    assert live.navigations >= 2, "the page changed without reloading?"
    live.wait_connected()
    assert_clean(live)


@pytest.mark.browser
def test_save_while_the_page_reloads_reaches_it(page: Page, server: ServeProcess, tiny_project: Path):
    """The window itself, every time: the first save's reload has put the page on screen
    but its livereload.js is held back (no socket), the second save is built meanwhile."""
    live = LivePage(page, server).open(FORM)
    held: list[str] = []

    def hold(route: Route) -> None:
        if not held:  # the page reloaded for the first save, showing it, with no socket yet
            held.append(page.evaluate("() => document.body.innerText"))
            edit_record(tiny_project, "reason: 第一版原因", "reason: 第二版原因")
            server.wait_for("/" + FORM, lambda r: "第二版原因" in r.text, "serving the second save")
        route.continue_()

    page.route("**/livereload.js*", hold)
    edit_record(tiny_project, f"reason: {REASON}", "reason: 第一版原因")
    live.wait_text("第二版原因")
    assert held and "第一版原因" in held[0], "the scenario did not happen: the page never reloaded for save 1"
    live.wait_connected()
    assert_clean(live)


# --------------------------------------------------------------------------- 10: a closed stdout


def user_env(unbuffered: bool = False) -> dict[str, str]:
    """The environment a user runs perfsite in: stdout buffered unless asked otherwise."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return {**env, "PYTHONUNBUFFERED": "1"} if unbuffered else env


def run_into_closed_pipe(args: list[str], stderr_too: bool = False, unbuffered: bool = False) -> tuple[int, str]:
    """Run perfsite with stdout (and maybe stderr) a pipe whose reader has already gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(PERFSITE + args, cwd=REPO, env=user_env(unbuffered), stdin=subprocess.DEVNULL,
                                stdout=write_end, stderr=write_end if stderr_too else subprocess.PIPE,
                                timeout=STARTUP_TIMEOUT)
    finally:
        os.close(write_end)
    return result.returncode, (result.stderr or b"").decode("utf-8", "replace")


def assert_quiet(code: int, stderr: str) -> None:
    assert code == EXIT_OUTPUT_CLOSED, f"exit {code}\n{stderr}"
    for noise in ("Traceback", "BrokenPipeError", "Exception ignored"):
        assert noise not in stderr, stderr


def test_check_piped_into_head_exits_quietly(sample_project: Path, tmp_path: Path):
    """`perfsite check --format json | head -1`, for real: the output (300+ KB) outgrows the
    pipe, so perfsite is still writing when the reader leaves after one line."""
    with open(tmp_path / "stderr.txt", "w+b") as stderr:
        proc = subprocess.Popen(PERFSITE + ["check", "--format", "json", "-p", str(sample_project)], cwd=REPO,
                                env=user_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr)
        first = proc.stdout.readline()
        proc.stdout.close()
        code = proc.wait(STARTUP_TIMEOUT)
        stderr.seek(0)
        assert first.startswith(b"{"), first
        assert_quiet(code, stderr.read().decode("utf-8", "replace"))


COMMANDS = {
    "check": ["check"],
    "check json": ["check", "--format", "json"],
    "check -v": ["check", "-v"],
    "build": ["build", "-o", "{tmp}/site"],
    "new": ["new", "gamma", "2023", "--name", "新部门"],
    "schema": ["schema"],
    "template": ["template", "{tmp}/blank.xlsx"],
    "export": ["export", "-o", "{tmp}/excel"],
    "--help": ["--help"],  # argparse ignores a failed write, so unbuffered (-u) these exit 0
    "--version": ["--version"],
    "check --help": ["check", "--help"],
}


@pytest.mark.parametrize("args", list(COMMANDS.values()), ids=list(COMMANDS))
def test_every_command_exits_quietly_when_stdout_is_closed(tiny_project: Path, tmp_path: Path, args: list[str]):
    args = [a.format(tmp=tmp_path) for a in args]
    if args[0] in ("check", "build", "new", "export") and "--help" not in args:
        args += ["-p", str(tiny_project)]
    assert_quiet(*run_into_closed_pipe(args))


def test_unbuffered_output_into_a_closed_pipe_exits_quietly(tiny_project: Path):
    """PYTHONUNBUFFERED: the first print() itself fails, not the flush at the end."""
    assert_quiet(*run_into_closed_pipe(["check", "-p", str(tiny_project)], unbuffered=True))


def test_import_exits_quietly_when_stdout_is_closed(tiny_project: Path, tmp_path: Path):
    from generator.cli import main

    assert main(["export", "-p", str(tiny_project), "-o", str(tmp_path / "excel")]) == 0
    workbooks = sorted(str(p) for p in (tmp_path / "excel").rglob("*.xlsx"))
    assert workbooks
    assert_quiet(*run_into_closed_pipe(["import", "-p", str(tiny_project), "--overwrite", *workbooks]))


def test_no_stdout_at_all_is_not_an_error(tiny_project: Path):
    """`perfsite check >&-`: Python has no sys.stdout; the output is dropped as before."""
    result = subprocess.run(PERFSITE + ["check", "-p", str(tiny_project)], cwd=REPO, env=user_env(),
                            stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=STARTUP_TIMEOUT,
                            preexec_fn=lambda: os.close(1))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_error_into_a_closed_stderr_exits_quietly(tmp_path: Path):
    """`perfsite check 2>&1 | head -1` on a broken project: the error messages meet the closed pipe."""
    code, _ = run_into_closed_pipe(["check", "-p", str(tmp_path / "no-such-project")], stderr_too=True)
    assert code == EXIT_OUTPUT_CLOSED


def test_serve_stops_quietly_when_its_log_reader_goes(tiny_project: Path, tmp_path: Path):
    """`perfsite serve | head -2`: the next log line (an edit's rebuild) meets the closed pipe;
    the server stops as a piped POSIX tool would, freeing its port, without a traceback."""
    with open(tmp_path / "stderr.txt", "w+b") as stderr:
        proc = subprocess.Popen(PERFSITE + ["serve", "-p", str(tiny_project), "--port", "0"], cwd=REPO,
                                env=user_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr)
        serving = threading.Event()
        port: list[int] = []

        def read_until_serving() -> None:
            for line in proc.stdout:
                match = SERVING.match(line.decode("utf-8").rstrip("\n"))
                if match:
                    port.append(int(match["port"]))
                    serving.set()
                    return

        reader = threading.Thread(target=read_until_serving, daemon=True)
        reader.start()
        try:
            assert serving.wait(STARTUP_TIMEOUT), "no 'serving' line"
            reader.join(SETTLE_TIMEOUT)
            proc.stdout.close()
            # the watcher's baseline predates the 'serving' line, so this edit is seen and logged
            edit_record(tiny_project, f"reason: {REASON}", "reason: 没人读日志了")
            try:
                code = proc.wait(SETTLE_TIMEOUT + STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pytest.fail("perfsite serve kept running after its output was closed")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(STOP_TIMEOUT)
        stderr.seek(0)
        assert_quiet(code, stderr.read().decode("utf-8", "replace"))
        assert listening_addresses(port[0]) == []


def test_serve_with_stdout_closed_from_the_start_exits_quietly(tiny_project: Path):
    assert_quiet(*run_into_closed_pipe(["serve", "-p", str(tiny_project), "--port", "0"]))


# --------------------------------------------------------------------------- 14: the port


@pytest.mark.parametrize("port", ["99999", "65536", "-1", "eighty", "8000x"])
def test_port_out_of_range_is_an_argument_error(tiny_project: Path, port: str):
    """99999 used to bind 34463 (getaddrinfo takes the port modulo 65536)."""
    try:
        result = subprocess.run(PERFSITE + ["serve", "-p", str(tiny_project), "--port", port], cwd=REPO,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=STARTUP_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"--port {port} was accepted: the server ran\n{exc.stdout}")
    assert result.returncode == 2, result
    assert "serving" not in result.stdout
    assert re.search(rf"argument --port: .*{re.escape(port)}", result.stderr), result.stderr
    assert "0-65535" in result.stderr or "not a port number" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("port", [0, 1, 8000, 65535])
def test_ports_in_range_are_accepted(port: int):
    from generator.cli import _parser

    assert _parser().parse_args(["serve", "--port", str(port)]).port == port


def test_serve_library_call_refuses_a_port_out_of_range(tiny_project: Path):
    """Not only the CLI: serve() itself says no before building anything."""
    code = (f"from generator.serve.server import serve; import pathlib; "
            f"serve(pathlib.Path({str(tiny_project)!r}), port=70000)")
    try:
        result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                                timeout=STARTUP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail("serve(port=70000) ran a server")
    assert "PerfsiteError: port 70000 is out of range: use 0-65535" in result.stderr, result.stderr
    assert "rebuilt" not in result.stdout

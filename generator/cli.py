"""The ``perfsite`` command line: parse arguments, call the library, print, pick exit code.

Only expected errors (:class:`~generator.errors.PerfsiteError`) are printed as plain
messages with exit status 1; anything else is a bug and keeps its traceback. Argument
errors exit 2 (argparse). When the reader of the output goes away (``perfsite check |
head -1``) any command stops quietly with 141, the status a shell shows for a POSIX tool
ended by SIGPIPE (128 + 13); the process is not killed by the signal itself, so that
``main()`` still returns when called from Python.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

from . import __version__
from .errors import ContentError, PerfsiteError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="perfsite", description=(
        "Publish government performance self-evaluation forms as a static disclosure site."))
    parser.add_argument("--version", action="version", version=f"perfsite {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-p", "--project", type=Path, default=Path("."), metavar="DIR",
                        help="project folder holding content/ (default: current folder)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser("check", parents=[common], help="validate, score and audit every form")
    check.add_argument("--format", choices=["text", "json"], default="text")
    check.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    loudness = check.add_mutually_exclusive_group()
    loudness.add_argument("-q", "--quiet", action="store_true", help="print only the summary line")
    loudness.add_argument("-v", "--verbose", action="store_true", help="also print every indicator's score")

    build = sub.add_parser("build", parents=[common], help="build the static site")
    build.add_argument("-o", "--out", type=Path, metavar="DIR", help="output folder (default: DIR/site)")
    build.add_argument("--strict", action="store_true", help="fail (exit 1) on audit errors or warnings")
    build_loudness = build.add_mutually_exclusive_group()
    build_loudness.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    build_loudness.add_argument("-v", "--verbose", action="store_true", help="also print every finding")
    build.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    build.add_argument("--watch", action="store_true",
                       help="stay running and rebuild after each change to content/, overrides/ or the themes "
                            "(edits cost what they change: the build is kept in memory); Ctrl-C stops")
    build.add_argument("--cluster", metavar="ADDRESS",
                       help="build the departments on a Dask cluster: its scheduler's address (tcp://host:8786), "
                            "or 'local' for worker processes on this machine (needs the 'cluster' extra)")

    serve = sub.add_parser("serve", parents=[common], help="preview the site with live reload")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=port_number, default=8000, help="port (default: 8000; 0 picks a free one)")
    serve.add_argument("--open", action="store_true", help="open the site in a web browser")

    new = sub.add_parser("new", parents=[common], help="start a form, carrying last year's indicators over")
    new.add_argument("slug", help="the department's folder name, e.g. wangcheng-kexie")
    new.add_argument("year", type=int, help="the year of the new form")
    new.add_argument("--name", help="the department's name, when the department is new")
    new.add_argument("--project-id", metavar="ID", help="start a project form <year>-<ID>.yaml (项目支出绩效自评表); "
                     "ID in lowercase letters, digits and hyphens")
    new.add_argument("--layout", help="the form's layout (perfsite profiles lists them); default: the national one")

    from .excel.commands import add_commands as add_excel_commands

    COMMANDS.update(add_excel_commands(sub, common))

    schema = sub.add_parser("schema", help="print the JSON Schema of a record type")
    schema.add_argument("kind", nargs="?", default="report",
                        choices=["report", "department", "site", "profile", "layout"])
    schema.add_argument("--out", type=Path, metavar="DIR", help="write all schemas into DIR")
    init = sub.add_parser("init", help="create a new project that builds at once (site.yaml, one example form)")
    init.add_argument("folder", nargs="?", type=Path, default=Path("."), help="where (default: here)")
    init.add_argument("--title", default="部门整体支出绩效自评公开", help="the site's title")
    init.add_argument("--profile", default="national", help="the scoring rules (perfsite profiles lists them)")
    init.add_argument("--language", choices=["zh-CN", "en"], default="zh-CN")
    profiles = sub.add_parser("profiles", help="list the shipped scoring profiles and form layouts, with citations")
    profiles.add_argument("--format", choices=["text", "json"], default="text")
    return parser


EXIT_OUTPUT_CLOSED = 128 + 13  # 128 + SIGPIPE


def port_number(text: str) -> int:
    """A TCP port: getaddrinfo would silently take 99999 modulo 65536 and bind another port."""
    from .serve.server import PORTS

    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if port not in PORTS:
        raise argparse.ArgumentTypeError(f"{port} is out of range: use 0-65535 (0 picks a free port)")
    return port


def console() -> None:
    """The ``perfsite`` command: :func:`main`, then exit without tearing down the heap. After a
    build of 10,000 forms, freeing every object one by one took a second longer than the
    build's own work on an edit; every file is written and closed by then, the streams are
    flushed here."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, OSError, ValueError):  # None, closed, or not a real file
            stream.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    try:
        try:
            return _main(argv)
        finally:
            if sys.stdout is not None:  # None when started with no stdout at all (>&-)
                sys.stdout.flush()  # so a closed pipe shows up here, not at interpreter exit
    except BrokenPipeError:
        # the interpreter flushes again at exit: send what is left to /dev/null instead
        devnull = os.open(os.devnull, os.O_WRONLY)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(AttributeError, OSError, ValueError):  # None, or not a real file
                os.dup2(devnull, stream.fileno())
        os.close(devnull)
        return EXIT_OUTPUT_CLOSED


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ContentError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        print(f"perfsite: {count} problem{'s' if count != 1 else ''} in the content; nothing was "
              "changed", file=sys.stderr)
        return 1
    except PerfsiteError as exc:
        print(f"perfsite: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        raise  # the reader went away: main() ends quietly
    except OSError as exc:  # a full disk, a folder in the way, no permission: one line, never a traceback
        from .build.sitefolder import os_error_message

        print(f"perfsite: {os_error_message(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def run_check(args) -> int:
    from functools import partial

    from .score.check_all import check_texts
    from .score.report_text import format_checked_texts, format_form, use_colour
    from .site.export import check_document, form_json

    started = time.perf_counter()
    if args.format == "json":
        checked = check_texts(args.project, form_json)
        pieces = check_document(checked.texts(), [f.as_dict() for f in checked.notices])
    else:
        colour = use_colour()
        render = _nothing if args.quiet else partial(format_form, colour=colour, verbose=args.verbose)
        checked = check_texts(args.project, render)
        pieces = format_checked_texts(checked, time.perf_counter() - started, colour=colour, quiet=args.quiet)
    for piece in pieces:  # a piece at a time: at 100,000 forms the JSON is 1.5 GB
        print(piece, end="")  # print, not sys.stdout.write: with stdout closed (>&-) there is none
    print()
    counts = checked.counts
    if args.strict and (counts["error"] or counts["warning"]):
        return 1
    return 0


def _nothing(_form) -> str:
    return ""


def _findings_text(form, colour: bool) -> str:
    from .score.report_text import format_form

    return format_form(form, colour=colour) if form.findings else ""


def run_build(args) -> int:
    from .build.run import build

    if args.watch:
        return watch_build(args)
    result = build(args.project, args.out, progress=None if args.quiet else terminal_progress(), force=args.force,
                   cluster=args.cluster)
    return report_build(result, args)


def watch_build(args) -> int:
    """``perfsite build --watch``: build, then rebuild after each change, until Ctrl-C or SIGTERM."""
    import signal
    import threading

    from .build.resident import watch_build as watch

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    project = args.project.resolve()

    def built(result, changed) -> None:
        if changed:
            names = sorted(p.relative_to(project).as_posix() if p.is_relative_to(project) else p.as_posix()
                           for p in changed)
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            print(f"changed: {shown}", flush=True)
        report_build(result, args)

    def waiting() -> None:
        if not args.quiet:
            print("watching for changes (Ctrl-C stops)", flush=True)

    def failed(exc) -> None:
        if isinstance(exc, ContentError):
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            count = len(exc.problems)
            print(f"perfsite: {count} problem{'s' if count != 1 else ''} in the content; the site was not "
                  "changed", file=sys.stderr, flush=True)
        else:
            print(f"perfsite: {exc}; the site was not changed", file=sys.stderr, flush=True)

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: a build under way leaves the last good site
        watch(args.project, args.out, stop, built, failed, progress=None if args.quiet else terminal_progress(),
              force=args.force, cluster=args.cluster, on_waiting=waiting)
    if not args.quiet:
        print("stopped", flush=True)
    return 0


def report_build(result, args) -> int:
    """What a build did, in a line or two; the exit code (``--strict``: 1 on audit errors or warnings)."""
    if result.site is None:
        if not args.quiet:
            print(f"{result.out_dir} is up to date: nothing changed since the last build "
                  f"(checked in {result.seconds:.2f} s; --force rebuilds)", flush=True)
        return 0
    counts = result.site.findings_by_severity()
    if args.verbose:
        from functools import partial

        from .score.check_all import check_texts
        from .score.report_text import use_colour

        # the build keeps of each form what the pages listing every form need: check it whole again
        for text in check_texts(args.project, partial(_findings_text, colour=use_colour())).texts():
            if text:
                print(text)
    if not args.quiet:
        size = result.bytes / 1024 / 1024
        departments = len(result.site.content.departments)
        reused = (f" ({result.rebuilt} of {departments} departments rebuilt, the others unchanged)"
                  if result.rebuilt < departments else "")
        print(f"built {result.out_dir}: {result.pages} pages, {result.files} files ({size:.1f} MiB) "
              f"from {len(result.site.forms)} forms in {result.seconds:.2f} s{reused}; findings: "
              f"{counts['error']} errors, {counts['warning']} warnings, {counts['info']} info")
        if not result.site.config.base_url:
            print("note: sitemap.xml not written (it needs absolute URLs): set base_url in content/site.yaml")
        sys.stdout.flush()
    if args.strict and (counts["error"] or counts["warning"]):
        print("perfsite: --strict: the audit found errors or warnings (see perfsite check)", file=sys.stderr)
        return 1
    return 0


def terminal_progress():
    """A progress bar on stderr, only when it is a terminal and the build is long enough to need one."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        if total < 200:
            return
        width = 30
        filled = width * done // total
        end = "\n" if done == total else ""
        print(f"\rrendering [{'#' * filled}{'.' * (width - filled)}] {done}/{total} pages", end=end,
              file=sys.stderr, flush=True)

    return show


def run_serve(args) -> int:
    from .serve.server import serve

    return serve(args.project, host=args.host, port=args.port, open_browser=args.open)


def run_new(args) -> int:
    from .scaffold import new_record

    for path in new_record(args.project.resolve(), args.slug, args.year, args.name, args.project_id, args.layout):
        print(f"wrote {path}")
    print("fill in the empty values, then run: perfsite check")
    return 0


def run_schema(args) -> int:
    from .files import write_atomic
    from .site.export import all_schemas, dumps

    schemas = all_schemas()
    if args.out:
        for name, schema in schemas.items():
            write_atomic(args.out / f"{name}.schema.json", (dumps(schema) + "\n").encode("utf-8"))
        print(f"wrote {len(schemas)} schemas to {args.out}")
    else:
        print(dumps(schemas[args.kind]))
    return 0


def run_init(args) -> int:
    from .init import init_project

    for path in init_project(args.folder, args.title, args.profile, args.language):
        print(f"wrote {path}")
    print(f"next: cd {args.folder} && perfsite build && perfsite serve")
    return 0


def run_profiles(args) -> int:
    """Every shipped profile (how to score) and layout (what the form prints), each with its citation."""
    from .read.layouts import DEFAULT_LAYOUTS, load_layouts
    from .read.profiles import available_profiles, load_profile
    from .site.export import dumps

    profiles, problems = [], []
    for name in available_profiles():
        profile, found = load_profile(name)
        problems += found
        if profile is not None:
            profiles.append({"name": name, "title": profile.title, "regulation": profile.regulation,
                             "default": name == "national"})
    layouts, found = load_layouts()
    problems += found
    if problems:
        raise ContentError(problems)
    layout_rows = [{"name": name, "form": layout.form, "title": layout.title, "regulation": layout.regulation,
                    "default": DEFAULT_LAYOUTS[layout.form] == name,
                    "level1": list(layout.levels)} for name, layout in sorted(layouts.items())]
    if args.format == "json":
        print(dumps({"profiles": profiles, "layouts": layout_rows}))
        return 0
    print(f"profiles ({len(profiles)}): how a form is scored; choose with `profile:` in site.yaml or a record")
    for p in profiles:
        print(f"  {p['name']}{'  (default)' if p['default'] else ''}\n    {p['title']}\n    依据：{p['regulation']}")
    print(f"\nlayouts ({len(layout_rows)}): what a form prints; choose with `layouts:` in site.yaml or "
          "`layout:` in a record")
    for x in layout_rows:
        print(f"  {x['name']}  [{x['form']}]{'  (default)' if x['default'] else ''}\n    {x['title']}\n"
              f"    一级指标：{'、'.join(x['level1'])}\n    依据：{x['regulation']}")
    return 0


COMMANDS = {"check": run_check, "build": run_build, "serve": run_serve, "new": run_new, "schema": run_schema,
            "profiles": run_profiles, "init": run_init}

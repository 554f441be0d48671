"""Themes: templates, static files and UI strings, with site-local overrides on top.

Lookup order for a template is the site's ``overrides/templates`` folder, then the
theme, then its parent theme (MkDocs). An override can extend the template it
replaces with ``{% extends "!theme/form.html" %}`` (Pelican's prefix). UI strings
live in ``strings/<language>.yaml`` so an English build is a config switch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2
import jinja2.meta
from jinja2.loaders import split_template_path

from ..errors import Problem, ThemeError
from ..read.config import SiteConfig, themes_root
from ..read.inputs import cannot_read, folder_problem, link_problem, read_input, shown_name, walk_files
from ..read.yamlsource import read_yaml

Folder = tuple[Path, Path, str]  # a theme folder, the root it must stay inside, its name in messages


@dataclass(frozen=True)
class Theme:
    name: str
    template_dirs: tuple[Path, ...]   # highest precedence first
    static_dirs: tuple[Path, ...]     # lowest precedence first: later copies win
    strings: dict[str, str]
    env: jinja2.Environment
    glossary: tuple[dict, ...] = ()
    static_folders: tuple[Folder, ...] = ()  # static_dirs with their roots and names


def _fail(problem: Problem | None) -> None:
    if problem is not None:
        raise ThemeError(str(problem))


def _theme_chain(name: str) -> list[Folder]:
    """The theme folder and its parents, the theme itself first (inside the themes folder)."""
    root = themes_root().resolve()
    chain: list[Folder] = []
    while name:
        folder, shown = root / name, f"themes/{name}"
        meta_file = folder / "theme.yaml"
        _fail(folder_problem(folder, root, shown))
        if not meta_file.is_file() or any(folder == f for f, _, _ in chain):
            raise ThemeError(f"theme {name!r}: no theme.yaml in {folder}")
        doc, problems = read_yaml(meta_file, f"{shown}/theme.yaml", root)
        if problems:
            raise ThemeError("\n".join(map(str, problems)))
        chain.append((folder, root, shown))
        name = (doc.data or {}).get("parent")
    return chain


def _read_strings(folders: list[Folder], language: str) -> dict[str, str]:
    strings: dict[str, str] = {}
    found = False
    for folder, root, shown in reversed(folders):  # parents first, so the theme and overrides win
        path = folder / "strings" / f"{language}.yaml"
        if not os.path.lexists(path):
            continue
        doc, problems = read_yaml(path, f"{shown}/strings/{language}.yaml", root)
        if problems:
            raise ThemeError("\n".join(map(str, problems)))
        strings.update({str(k): str(v) for k, v in (doc.data or {}).items()})
        found = True
    if not found:
        raise ThemeError(f"no UI strings for language {language!r} (looked for strings/{language}.yaml "
                         f"in {', '.join(str(f) for f, _, _ in folders)})")
    return strings


def _subfolders(folders: list[Folder], name: str) -> list[Folder]:
    """``templates`` or ``static`` of each folder that has one; a link or a file there is an error."""
    out = []
    for folder, root, shown in folders:
        sub, sub_shown = folder / name, f"{shown}/{name}"
        _fail(folder_problem(sub, root, sub_shown))
        if sub.is_dir():
            out.append((sub, root, sub_shown))
    return out


def load_theme(config: SiteConfig) -> Theme:
    """The theme named in the site config, ready to render."""
    chain = _theme_chain(config.theme)
    overrides = config.overrides_dir
    _fail(folder_problem(overrides, config.project_dir, "overrides"))
    folders = ([(overrides, config.project_dir, "overrides")] if overrides.is_dir() else []) + chain
    templates = _subfolders(folders, "templates")
    loader = jinja2.ChoiceLoader([
        _CheckedLoader(templates),
        jinja2.PrefixLoader({"!theme": _CheckedLoader(_subfolders(chain, "templates"))}),
    ])
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    static = _subfolders(folders, "static")[::-1]
    return Theme(config.theme, tuple(f for f, _, _ in templates), tuple(f for f, _, _ in static),
                 _read_strings(folders, config.language), env, _read_glossary(folders), tuple(static))


def _read_glossary(folders: list[Folder]) -> tuple[dict, ...]:
    """The form's terms: the first glossary.yaml found (overrides, theme, parents)."""
    for folder, root, shown in folders:
        path = folder / "glossary.yaml"
        if os.path.lexists(path):
            doc, problems = read_yaml(path, f"{shown}/glossary.yaml", root)
            if problems:
                raise ThemeError("\n".join(map(str, problems)))
            return tuple(dict(entry) for entry in doc.data or ())
    return ()


class _CheckedLoader(jinja2.BaseLoader):
    """Jinja's file loader, reading each template through :mod:`generator.read.inputs` (no links,
    nothing outside its root, unreadable or non-UTF-8 files named)."""

    def __init__(self, folders: list[Folder]):
        self.folders = folders

    def get_source(self, environment, template):
        pieces = split_template_path(template)
        for folder, root, shown in self.folders:
            path = folder.joinpath(*pieces)
            if not os.path.lexists(path):
                continue
            display = "/".join([shown, *pieces])
            raw, problem = read_input(path, root, display, limit=None)
            _fail(problem)
            try:
                source = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ThemeError(f"{display}: not UTF-8 text: byte 0x{raw[exc.start]:02X} cannot be decoded "
                                 "(save the file as UTF-8)") from None
            mtime = os.lstat(path).st_mtime_ns

            def uptodate(path=path, mtime=mtime) -> bool:
                try:
                    return os.lstat(path).st_mtime_ns == mtime
                except OSError:
                    return False

            return source, str(path), uptodate
        raise jinja2.TemplateNotFound(template)


def static_sources(theme: Theme) -> dict[str, bytes]:
    """Every static file by its path below ``static/``: the theme's, then the overrides'
    (later folders win); dot-files are left out, links and unreadable files are errors."""
    files: dict[str, bytes] = {}
    for folder, root, shown in theme.static_folders:
        def unreadable(rel: str, exc: OSError, shown=shown) -> None:
            _fail(cannot_read(f"{shown}/{shown_name(rel)}".rstrip("/"), exc))

        found = []
        for rel, entry in walk_files(folder, on_error=unreadable):
            if entry.is_symlink():
                _fail(link_problem(Path(entry.path), root, f"{shown}/{shown_name(rel)}"))
            found.append((Path(entry.path), rel))
        for path, rel in sorted(found, key=lambda item: item[1]):
            data, problem = read_input(path, root, f"{shown}/{shown_name(rel)}", limit=None)
            _fail(problem)
            files[rel] = data
    return files


def get_template(theme: Theme, name: str) -> jinja2.Template:
    try:
        return theme.env.get_template(name)
    except jinja2.TemplateSyntaxError as exc:
        raise ThemeError(f"{exc.filename or exc.name}:{exc.lineno}: template syntax error: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        searched = ", ".join(str(d) for d in theme.template_dirs)
        raise ThemeError(f"template {exc.name!r} not found (searched: {searched})") from None


def template_closure(theme: Theme, name: str) -> frozenset[str] | None:
    """Every template a page template pulls in, itself included (None when a name is computed
    at render time and so cannot be known): what a page's bytes depend on in the theme."""
    seen: set[str] = set()
    todo = [name]
    env = theme.env
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.update((current, current.removeprefix("!theme/")))
        try:
            source, filename, _ = env.loader.get_source(env, current)
        except jinja2.TemplateNotFound:
            continue  # rendering will say so, with the name
        refs = _referenced_templates(env, source, current, filename)
        if None in refs:
            return None
        todo.extend(refs)
    return frozenset(n.removeprefix("!theme/") for n in seen)


@lru_cache(maxsize=512)
def _referenced_templates(env: jinja2.Environment, source: str, name: str, filename: str) -> tuple:
    """The templates one template's source names (None for a name computed at render time);
    parsed once per process: every page template pulls in the same base and macros."""
    try:
        parsed = env.parse(source, name, filename)
    except jinja2.TemplateSyntaxError as exc:
        raise ThemeError(f"{filename}:{exc.lineno}: template syntax error: {exc.message}") from None
    return tuple(jinja2.meta.find_referenced_templates(parsed))


def template_error(exc: Exception, template: str) -> ThemeError:
    """Name the template file and line of an error raised while rendering."""
    if isinstance(exc, ThemeError):  # already located (a template that cannot be read)
        return exc
    where = template
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith((".html", ".xml", ".txt")):
            where = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return ThemeError(f"{where}: {type(exc).__name__}: {exc}")

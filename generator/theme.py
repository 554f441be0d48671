"""Themes: templates, static files and UI strings, with site-local overrides on top.

Lookup order for a template is the site's ``overrides/templates`` folder, then the
theme, then its parent theme (MkDocs). An override can extend the template it
replaces with ``{% extends "!theme/form.html" %}`` (Pelican's prefix). UI strings
live in ``strings/<language>.yaml`` so an English build is a config switch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2
import jinja2.meta

from .config import SiteConfig, themes_root
from .errors import ThemeError
from .yamlsource import read_yaml


@dataclass(frozen=True)
class Theme:
    name: str
    template_dirs: tuple[Path, ...]   # highest precedence first
    static_dirs: tuple[Path, ...]     # lowest precedence first: later copies win
    strings: dict[str, str]
    env: jinja2.Environment
    glossary: tuple[dict, ...] = ()


def _theme_chain(name: str) -> list[Path]:
    """The theme folder and its parents, the theme itself first."""
    chain: list[Path] = []
    while name:
        folder = themes_root() / name
        meta_file = folder / "theme.yaml"
        if not meta_file.is_file() or folder in chain:
            raise ThemeError(f"theme {name!r}: no theme.yaml in {folder}")
        doc, problems = read_yaml(meta_file, f"themes/{name}/theme.yaml")
        if problems:
            raise ThemeError("\n".join(map(str, problems)))
        chain.append(folder)
        name = (doc.data or {}).get("parent")
    return chain


def _read_strings(folders: list[Path], language: str) -> dict[str, str]:
    strings: dict[str, str] = {}
    found = False
    for folder in reversed(folders):  # parents first, so the theme and overrides win
        path = folder / "strings" / f"{language}.yaml"
        if not path.is_file():
            continue
        doc, problems = read_yaml(path, str(path))
        if problems:
            raise ThemeError("\n".join(map(str, problems)))
        strings.update({str(k): str(v) for k, v in (doc.data or {}).items()})
        found = True
    if not found:
        raise ThemeError(f"no UI strings for language {language!r} (looked for strings/{language}.yaml "
                         f"in {', '.join(str(f) for f in folders)})")
    return strings


def load_theme(config: SiteConfig) -> Theme:
    """The theme named in the site config, ready to render."""
    chain = _theme_chain(config.theme)
    overrides = config.overrides_dir
    folders = ([overrides] if overrides.is_dir() else []) + chain
    template_dirs = tuple(f / "templates" for f in folders if (f / "templates").is_dir())
    theme_dirs = [f / "templates" for f in chain if (f / "templates").is_dir()]
    loader = jinja2.ChoiceLoader([
        jinja2.FileSystemLoader([str(d) for d in template_dirs]),
        jinja2.PrefixLoader({"!theme": jinja2.FileSystemLoader([str(d) for d in theme_dirs])}),
    ])
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    static_dirs = tuple(f / "static" for f in reversed(folders) if (f / "static").is_dir())
    return Theme(config.theme, template_dirs, static_dirs, _read_strings(folders, config.language), env,
                 _read_glossary(folders))


def _read_glossary(folders: list[Path]) -> tuple[dict, ...]:
    """The form's terms: the first glossary.yaml found (overrides, theme, parents)."""
    for folder in folders:
        path = folder / "glossary.yaml"
        if path.is_file():
            doc, problems = read_yaml(path, str(path))
            if problems:
                raise ThemeError("\n".join(map(str, problems)))
            return tuple(dict(entry) for entry in doc.data or ())
    return ()


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
        try:
            parsed = env.parse(source, current, filename)
        except jinja2.TemplateSyntaxError as exc:
            raise ThemeError(f"{filename}:{exc.lineno}: template syntax error: {exc.message}") from None
        for ref in jinja2.meta.find_referenced_templates(parsed):
            if ref is None:
                return None
            todo.append(ref)
    return frozenset(n.removeprefix("!theme/") for n in seen)


def template_error(exc: Exception, template: str) -> ThemeError:
    """Name the template file and line of an error raised while rendering."""
    where = template
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith((".html", ".xml", ".txt")):
            where = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return ThemeError(f"{where}: {type(exc).__name__}: {exc}")

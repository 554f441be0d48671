"""What a build depends on, as stamps: is the site up to date, and may a department be reused?

The input stamp covers everything a build reads — content, the site's overrides, the
theme, the generator's own code and profiles, the versions of the libraries whose output
we ship — by path, size, mtime, ctime and inode (a copy that keeps mtimes still changes
the last two), so ``perfsite build`` with nothing changed costs a directory walk. A
department's *environment key* is what its pages depend on outside its own folder (the
shared stamp and the templates its pages pull in); its folder signature is the stat of
every entry in it. Storage of what was built is :mod:`generator.build.cache`'s business.
"""

from __future__ import annotations

import hashlib
import os
import sys
from importlib import metadata
from pathlib import Path

from .. import __version__
from ..read.config import SiteConfig, themes_root
from ..read.inputs import is_ignored, walk_files
from ..read.records import FORM_FILE
from ..site.theme import Theme, template_closure
from .output import digest

FORMAT = "perfsite-build-cache-6"  # 2: stage packages; 3: layout and project id; 4: bulk pieces per form; 5: years;
# 6: a department's sections apart from its bulk slices


def input_stamp(project_dir: Path, out_dir: Path, kept: dict[str, str] | None = None,
                named: set[str] | None = None, shared: str | None = None) -> str:
    """Everything a build reads, as one digest: what :func:`shared_inputs_stamp` covers
    (``shared``, when already taken) and each entry of the departments folder.

    ``kept``: each entry's stamp as the last call of this process left it (updated here);
    with ``named``, the department folders that may have changed since (the watcher's word;
    None: anything may have), only those are stamped again."""
    h = hashlib.sha256("\n".join(library_versions() + [str(out_dir)]).encode())
    h.update((shared or shared_inputs_stamp(project_dir)).encode())
    departments = project_dir / "content" / "departments"
    if kept and named is not None:
        entries = {**kept, **{name: _folder_stamp(departments / name) for name in named}}
    else:
        entries = _department_entries(departments)
    if kept is not None:
        kept.clear()
        kept.update(entries)
    for name in sorted(entries):
        h.update(f"{name}\0{entries[name]}\n".encode())
    return h.hexdigest()


def _department_entries(departments: Path) -> dict[str, str]:
    """Each entry of the departments folder: a folder by every file below it, anything else
    (a stray file, a link) by its own stat."""
    if not departments.is_dir():
        return {"": f"missing:{departments}"}
    entries = {}
    with os.scandir(departments) as found:
        for entry in found:
            if is_ignored(entry.name):
                continue
            if entry.is_dir(follow_symlinks=False):
                entries[entry.name] = _folder_stamp(Path(entry.path))
            else:
                st = entry.stat(follow_symlinks=False)
                entries[entry.name] = f"{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}"
    return entries


def _folder_stamp(folder: Path) -> str:
    h = hashlib.sha256()
    stamp_folder(folder, h)
    return h.hexdigest()


def shared_inputs_stamp(project_dir: Path) -> str:
    """Every input but the department folders (site.yaml and the rest of ``content/``, the
    overrides, the themes, the generator): what a resident build's theme and keys were worked
    out from (:class:`~generator.build.shards.Kept`)."""
    h = hashlib.sha256("\n".join(library_versions()).encode())
    stamp_folder(project_dir / "content", h, skip=("departments",))
    for root in (project_dir / "overrides", themes_root(), Path(__file__).parents[1]):
        h.update(f"\n[{root}]\n".encode())
        stamp_folder(root, h)
    return h.hexdigest()


def folder_signature(folder: Path) -> tuple:
    """Name, size, mtime, ctime and inode of every entry: a copy that keeps mtimes still
    changes ctime and inode, so an edit cannot hide from it."""
    entries = []
    try:
        with os.scandir(folder) as found:
            for entry in found:
                st = entry.stat(follow_symlinks=False)
                entries.append((entry.name, entry.is_dir(follow_symlinks=False), st.st_size, st.st_mtime_ns,
                                st.st_ctime_ns, st.st_ino))
    except OSError:
        return ("unreadable",)
    return tuple(sorted(entries))


def template_closures(theme: Theme, names) -> dict[str, frozenset[str]]:
    """Every template each page template pulls in (all of them when that cannot be known),
    worked out once per build."""
    return {name: template_closure(theme, name) or _all_templates(theme) for name in names}


def fragment_templates(theme: Theme, closures: dict[str, frozenset[str]], names) -> list[str]:
    """The page templates that render sections through ``cached(...)``: a department's
    sections of them are made with the department and kept with it."""
    return [name for name in names if any("cached(" in _source(theme, n) for n in closures[name])]


def _all_templates(theme: Theme) -> frozenset[str]:
    return frozenset(rel for folder in theme.template_dirs for rel, _entry in walk_files(folder))


def _source(theme: Theme, name: str) -> str:
    try:
        return theme.env.loader.get_source(theme.env, name)[0]
    except Exception:  # noqa: BLE001 - a missing template fails at render time, with its name
        return ""


def stamp_folder(root: Path, digest_, skip=()) -> None:
    """Every file below ``root`` (but in the folders ``skip`` names) by path, size, mtime, ctime
    and inode (a copy that keeps mtimes still changes the last two); a link is stamped, never
    followed (inputs refuse links)."""
    if not root.exists():
        digest_.update(f"missing:{root}\n".encode())
        return
    for rel, entry in walk_files(root, skip=skip):
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        digest_.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}\n".encode())


def library_versions() -> list[str]:
    versions = [__version__, sys.version]
    for package in ("jinja2", "markupsafe", "markdown-it-py", "pyyaml", "plotly"):
        try:
            versions.append(f"{package}={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package}=?")
    return versions


def shared_stamp(config: SiteConfig, theme: Theme, static: dict[str, bytes], nav_years: list[int]) -> str:
    """What every page depends on: the generator, ``site.yaml``, strings, glossary, static
    files and the years in the navigation."""
    h = hashlib.sha256()
    h.update("\n".join([FORMAT, *library_versions(), repr(nav_years)]).encode())
    stamp_folder(Path(__file__).parents[1], h)  # the whole generator package: its code and profiles
    site_yaml = config.project_dir / "content" / "site.yaml"
    h.update(site_yaml.read_bytes() if site_yaml.is_file() else b"no site.yaml")
    h.update(repr(sorted(theme.strings.items())).encode())
    h.update(repr(theme.glossary).encode())
    for name in sorted(static):
        h.update(f"\n{name}\0".encode() + digest(static[name]))
    return h.hexdigest()


def environment_key(shared: str, theme: Theme, closures: dict[str, frozenset[str]], templates) -> str:
    """Everything outside its own folder that pages made from ``templates`` depend on: the
    shared stamp and the source of every template they pull in, in every theme folder."""
    h = hashlib.sha256(shared.encode())
    names = sorted(set().union(*(closures[t] for t in templates)))
    for folder in theme.template_dirs:
        for name in names:
            path = folder / name
            if path.is_file():
                h.update(f"\n{path}\0".encode() + path.read_bytes())
    return h.hexdigest()


def year_stamps(metas, keys: tuple[str, ...], memo: dict | None = None) -> dict[int, str]:
    """Per year, a stamp of everything that year's own page, quality page and bulk files are
    made from: the environment ``keys`` and, in site order, each department with a form that
    year, by the signature of its folder without the form files of other years (forms are
    checked one by one: an edit of a 2023 form changes nothing of 2022's). Equal stamps, equal
    files: the build keeps them as they are. ``memo``: each department's part, by slug, kept
    from the last build of this process (valid while the record is the same object)."""
    hashes: dict[int, hashlib._Hash] = {}
    for meta in metas:
        known = memo.get(meta.slug) if memo is not None else None
        if known is not None and known[0] is meta:
            parts = known[1]
        else:
            parts = _year_parts(meta)
            if memo is not None:
                memo[meta.slug] = (meta, parts)
        for year, part in parts:
            if year not in hashes:
                hashes[year] = hashlib.sha256("\n".join(keys).encode())
            hashes[year].update(part)
    return {year: h.hexdigest() for year, h in sorted(hashes.items())}


def department_years(meta, memo: dict | None = None) -> list[int]:
    """The years ``meta`` has forms in: from its part of the year stamps while ``memo`` (as
    :func:`year_stamps` keeps it) holds this very record, so no form is touched (finding a
    year's departments this way took a quarter of the time at 2,000 departments)."""
    known = memo.get(meta.slug) if memo is not None else None
    if known is not None and known[0] is meta:
        return [year for year, _ in known[1]]
    return sorted({f.report.year for f in meta.forms})


def _year_parts(meta) -> list[tuple[int, bytes]]:
    parts = []
    for year in department_years(meta):
        entries = [e for e in meta.inputs if not _form_of_another_year(e, year)]
        parts.append((year, f"\n{meta.slug}\0{meta.key}\0{entries!r}".encode()))
    return parts


def _form_of_another_year(entry, year: int) -> bool:
    match = FORM_FILE.match(entry[0]) if isinstance(entry, tuple) and entry and isinstance(entry[0], str) else None
    return match is not None and int(match.group(1)) != year

"""What a build keeps between runs, so that editing one record rebuilds one department.

A department folder is the unit of work. Its pages (the department and each form), its
downloads, its rows of the bulk files and its sections of the pages that list every form
(what templates render through ``cached(...)``) depend only on the files in that folder
and on what every page shares: the generator, ``site.yaml``, the templates those pages
use, the strings, the static files and the years in the navigation. That shared part is
the *environment key*. A unit is reused only when its key and the stat signature of its
folder (size, mtime, ctime, inode of every file) are what they were, and every file it
wrote is the one in the published site; anything else rebuilds it. A stale page is a
bug, so every doubt resolves to rebuilding.

Everything lives in ``.perfsite-cache/`` in the project folder (safe to delete; never
published). Cache files are pickles read back by a restricted unpickler that only
accepts perfsite's own model classes, ``Decimal`` and plain containers, so a planted
cache file cannot run code; one that does not load, or not as the right shape, is a miss.
A planted cache can neither act: the paths of the build state are used only once the
folders they describe are proven to hold exactly those files, inode for inode
(:func:`~generator.build.output.describes`), and a department record only while its folder's
stat signature (inodes, ctimes) is unchanged — neither survives a copy or a checkout.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ..files import write_atomic
from ..read.layouts import Layout, shipped_layout, shipped_layout_names
from ..read.model import Department
from ..score.audit import SEVERITIES, SlimFinding, slim_finding
from ..score.scoring import ScoredReport

CACHE_DIR = ".perfsite-cache"
FORMAT = "perfsite-build-cache-1"

Stat = tuple[int, int, int]  # inode, size, mtime_ns of one output file


# -- restricted pickles --------------------------------------------------------------------


class _SafeUnpickler(pickle.Unpickler):
    """Loads only perfsite's dataclasses and Decimal. Containers, strings and numbers have
    opcodes of their own in protocol 5: no builtin is callable, so a planted file cannot make
    ``bytes(2**40)`` either."""

    def __init__(self, file, profile=None):
        super().__init__(file)
        self._profile = profile

    def find_class(self, module: str, name: str):
        if module == "decimal" and name == "Decimal":
            return Decimal
        if module.startswith("generator.") and module in sys.modules:
            found = getattr(sys.modules[module], name, None)
            if isinstance(found, type) and getattr(found, "__dataclass_fields__", None) is not None:
                return found
        raise pickle.UnpicklingError(f"not allowed in a perfsite cache: {module}.{name}")

    def persistent_load(self, pid):
        if pid == "profile":
            return self._profile
        if isinstance(pid, str) and pid.startswith("layout:") and pid[7:] in shipped_layout_names():
            return shipped_layout(pid[7:])
        if isinstance(pid, str) and pid.startswith("finding:"):
            severity, _, code = pid[8:].partition(":")
            if severity in SEVERITIES:
                return slim_finding(code, severity)
        raise pickle.UnpicklingError(f"unknown reference {pid!r}")


class _Pickler(pickle.Pickler):
    """Writes the site's profile and the shipped layouts as references: every form shares the
    one in the config (a form under another profile carries its own, a few per site); and a
    slim finding as its kind."""

    def __init__(self, file, profile=None):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._profile = profile

    def persistent_id(self, obj):
        if obj is self._profile and obj is not None:
            return "profile"
        if type(obj) is Layout and obj is shipped_layout(obj.name):
            return f"layout:{obj.name}"
        if type(obj) is SlimFinding:  # read back as the one object of its kind
            return f"finding:{obj.severity}:{obj.code}"
        return None


def dump(value, path: Path, profile=None) -> None:
    """Write atomically (a killed build leaves the old file or none, never half of one); a write
    that fails (disk full, a folder in the way) leaves no temporary file and names ``path``."""
    buffer = io.BytesIO()
    _Pickler(buffer, profile).dump(value)
    write_atomic(path, buffer.getvalue())


def load(path: Path, profile=None):
    """The value in a cache file, or None when it is missing or not one of ours."""
    try:
        with open(path, "rb") as file:
            return _SafeUnpickler(file, profile).load()
    except FileNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - a damaged or foreign cache file is just a cache miss
        return None


# -- the records ---------------------------------------------------------------------------


UNIT_FILES = (".meta", ".data", ".sections")  # a department's record: the meta is written last


@dataclass
class UnitMeta:
    """A department as last built: what it was made from and what it made."""

    slug: str
    key: str
    inputs: tuple
    department: Department
    forms: tuple[ScoredReport, ...]  # slim: what the pages of every form need
    outputs: dict[str, bytes]       # output path -> digest, every file this unit wrote


@dataclass
class UnitData:
    """The unit's pieces of the shared files, read only while those are written."""

    forms: list[tuple[int, bytes, bytes, bytes]] = field(default_factory=list)  # year, JSON, CSV row, indicator rows
    fragments: dict[tuple, bytes] = field(default_factory=dict)  # (name, src paths) -> section, UTF-8


@dataclass
class Tree:
    """One copy of the site on disk: the digest and the stat of every file in it."""

    manifest: dict[str, bytes]
    stats: dict[str, Stat]


@dataclass
class BuildState:
    inputs: str                 # stamp of every input when the live site was built
    live: Tree
    standby: Tree | None        # the copy beside it, one build older, or None when unknown
    years: dict = field(default_factory=dict)  # year -> stamp of what its pages and files were made from


def user_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "perfsite"


class CacheMiss(Exception):  # noqa: N818 - not an error: the build redoes the department
    """A department's record turned out damaged while the site was assembled from it."""

    def __init__(self, slug: str, path: Path):
        super().__init__(f"{path}: missing or damaged")
        self.slug, self.path = slug, path


class BuildCache:
    """The cache folder of one project and output folder: ``.perfsite-cache/`` in the project,
    or the user's cache folder when the project cannot be written to (a read-only checkout)."""

    def __init__(self, project_dir: Path, out_dir: Path | None, name: str | None = None):
        """``name``: a cache of its own not keyed by an output folder (the dev server's)."""
        name = name or f"build-{hashlib.sha256(str(out_dir).encode()).hexdigest()[:16]}"
        project = hashlib.sha256(str(project_dir).encode()).hexdigest()[:16]
        self.root = project_dir / CACHE_DIR / name
        for candidate in (self.root, user_cache_dir() / project / name):
            try:
                (candidate / "units").mkdir(parents=True, exist_ok=True)
                probe = candidate / f".probe-{os.getpid()}"
                probe.write_bytes(b"")
                probe.unlink()
            except OSError:
                continue
            self.root = candidate
            break
        self.units = self.root / "units"
        ignore = project_dir / CACHE_DIR / ".gitignore"
        if self.root.parent == ignore.parent and not ignore.is_file():
            ignore.write_text("*\n", encoding="utf-8")

    @classmethod
    def existing(cls, project_dir: Path, out_dir: Path) -> BuildCache | None:
        """The build cache of that output folder if a build made one, to read from (nothing is created)."""
        name = f"build-{hashlib.sha256(str(out_dir).encode()).hexdigest()[:16]}"
        project = hashlib.sha256(str(project_dir).encode()).hexdigest()[:16]
        for candidate in (project_dir / CACHE_DIR / name, user_cache_dir() / project / name):
            if (candidate / "units").is_dir():
                cache = cls.__new__(cls)
                cache.root, cache.units = candidate, candidate / "units"
                return cache
        return None

    @property
    def state_path(self) -> Path:
        return self.root / "state.pickle"

    def load_state(self) -> BuildState | None:
        """The last build's state, if well-formed; whether it describes the folders on disk is
        checked against them before anything in it is used (:func:`~generator.build.output.describes`)."""
        state = load(self.state_path)
        if not (isinstance(state, BuildState) and isinstance(state.inputs, str) and isinstance(state.live, Tree)
                and (state.standby is None or isinstance(state.standby, Tree))
                and isinstance(getattr(state, "years", None), dict)):
            return None
        return state

    def save_state(self, state: BuildState | None) -> None:
        if state is None:
            self.state_path.unlink(missing_ok=True)
        else:
            dump(state, self.state_path)

    def load_meta(self, slug: str, profile) -> UnitMeta | None:
        meta = load(self.units / f"{slug}.meta", profile)
        if isinstance(meta, UnitMeta) and meta.slug == slug and isinstance(meta.outputs, dict):
            return meta
        return None

    def load_slices(self, slug: str) -> list[tuple[int, bytes, bytes, bytes]]:
        """Its slices of the bulk files: most of a record's bytes, read only while those are written."""
        path = self.units / f"{slug}.data"
        slices = load(path)
        if not (isinstance(slices, list)
                and all(type(f) is tuple and len(f) == 4 and type(f[0]) is int and all(type(b) is bytes for b in f[1:])
                        for f in slices)):
            raise CacheMiss(slug, path)
        return slices

    def load_fragments(self, slug: str) -> dict[tuple, bytes]:
        """Its sections of the every-form pages: a few hundred bytes a form, apart from the slices
        so the dev server's start reads 40,000 forms' sections without their bulk slices."""
        path = self.units / f"{slug}.sections"
        fragments = load(path)
        if not (isinstance(fragments, dict) and all(type(f) is bytes for f in fragments.values())):
            raise CacheMiss(slug, path)
        return fragments

    def forget(self, slug: str) -> None:
        """Drop one department's record: it is rebuilt next time."""
        for suffix in UNIT_FILES:
            (self.units / f"{slug}{suffix}").unlink(missing_ok=True)

    def save_unit(self, meta: UnitMeta, data: UnitData, profile) -> None:
        dump(data.forms, self.units / f"{meta.slug}.data")
        dump(data.fragments, self.units / f"{meta.slug}.sections")
        dump(meta, self.units / f"{meta.slug}.meta", profile)  # last: a meta is only valid with its data

    def load_bundle(self, bundle: str) -> tuple[str, dict[str, bytes]] | None:
        """A search bundle as last made: the key of the pages it indexed, and its files."""
        kept = load(self.root / "search" / f"{bundle}.pickle")
        return kept if isinstance(kept, tuple) and len(kept) == 2 and isinstance(kept[1], dict) else None

    def save_bundle(self, bundle: str, key: str, files: dict[str, bytes]) -> None:
        dump((key, files), self.root / "search" / f"{bundle}.pickle")

    def load_sections(self, key: str) -> dict[tuple, bytes]:
        """Sections the main process rendered last time, if made under the same ``key``."""
        kept = load(self.root / "sections.pickle")
        valid = isinstance(kept, tuple) and len(kept) == 2 and isinstance(kept[1], dict)
        return kept[1] if valid and kept[0] == key else {}

    def save_sections(self, key: str, sections: dict[tuple, bytes]) -> None:
        dump((key, sections), self.root / "sections.pickle")

    def forget_others(self, slugs: set[str]) -> None:
        """Drop the records of departments that no longer exist."""
        if not self.units.is_dir():
            return
        for path in self.units.iterdir():
            if path.suffix in UNIT_FILES and path.stem not in slugs:
                path.unlink(missing_ok=True)

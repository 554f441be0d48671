"""Errors that reach people: every one says where (file, line, column, key path) and what.

Library code raises these; only the CLI prints them and picks the exit code, so a
user sees one clean line per problem and a traceback only for a real bug.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Location:
    """A place in a source file; line and column count from 1 like editors do."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file


@dataclass(frozen=True)
class Problem:
    """One located problem: ``file:line:col: key.path: message (hint)``."""

    location: Location
    path: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.location}: {self.path}: " if self.path else f"{self.location}: "
        text = where + self.message
        return f"{text} ({self.hint})" if self.hint else text


class PerfsiteError(Exception):
    """Base of every expected failure: the CLI prints it and exits 1, no traceback."""


class ContentError(PerfsiteError):
    """Every problem found in the content, collected before stopping."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.location, p.path, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))


class ConfigError(PerfsiteError):
    """The command line, the site folder or the site configuration cannot be used."""


class ThemeError(PerfsiteError):
    """A theme or template is missing or broken; names the template and line."""

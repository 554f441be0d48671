"""Read, validate, score and audit a whole project: the engine under every command."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .audit import audit_report
from .config import SiteConfig, load_config
from .records import Content, read_content
from .scoring import ScoredReport, score_report


@dataclass(frozen=True)
class CheckedSite:
    config: SiteConfig
    content: Content
    forms: tuple[ScoredReport, ...]

    def findings_by_severity(self) -> dict[str, int]:
        counts = {"error": 0, "warning": 0, "info": 0}
        for form in self.forms:
            for finding in form.findings:
                counts[finding.severity] += 1
        return counts


def check_project(project_dir: Path) -> CheckedSite:
    """Everything ``check`` and ``build`` know about a project; raises on bad content."""
    config = load_config(project_dir)
    content = read_content(config)
    forms = tuple(audit_report(score_report(r, config.profile)) for r in content.reports)
    return CheckedSite(config, content, forms)

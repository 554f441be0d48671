"""``perfsite init`` makes a project that builds at once; a site.yaml that names no profile is
reported, not silently scored under the national rules (#13 point 12)."""

from __future__ import annotations

import json

from generator.cli import main


def test_init_makes_a_project_that_checks_clean_and_builds(tmp_path, capsys):
    folder = tmp_path / "new-site"
    assert main(["init", str(folder), "--title", "某区财政局绩效公开", "--profile", "beijing-2016"]) == 0
    site_yaml = (folder / "content/site.yaml").read_text(encoding="utf-8")
    assert "profile: beijing-2016" in site_yaml and '"某区财政局绩效公开"' in site_yaml
    assert (folder / "schemas/report.schema.json").is_file()
    capsys.readouterr()
    assert main(["check", "--strict", "-p", str(folder)]) == 0  # no finding, no notice
    assert main(["build", "-q", "-p", str(folder)]) == 0
    page = (folder / "site/departments/shili-danwei/2024/index.html").read_text(encoding="utf-8")
    assert "虚构" in page and "北京 2016" in page


def test_init_never_overwrites(tmp_path, capsys):
    assert main(["init", str(tmp_path)]) == 0
    before = (tmp_path / "content/site.yaml").read_bytes()
    assert main(["init", str(tmp_path), "--title", "另一个"]) == 1
    assert "already exists; nothing was changed" in capsys.readouterr().err
    assert (tmp_path / "content/site.yaml").read_bytes() == before


def test_init_refuses_an_unknown_profile(tmp_path, capsys):
    assert main(["init", str(tmp_path / "x"), "--profile", "nationl"]) == 1
    assert "unknown; shipped profiles:" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_a_site_without_a_profile_is_reported(tiny_project, capsys):
    site_yaml = tiny_project / "content/site.yaml"
    site_yaml.write_text(site_yaml.read_text(encoding="utf-8").replace("profile: national\n", ""), encoding="utf-8")
    assert main(["check", "-p", str(tiny_project)]) == 0
    out = capsys.readouterr().out
    assert "content/site.yaml: [profile-not-chosen] site.yaml names no profile: every form is scored under " \
           "'national'" in out
    assert main(["check", "--strict", "-p", str(tiny_project)]) == 1
    capsys.readouterr()
    assert main(["check", "--format", "json", "-p", str(tiny_project)]) == 0
    notices = json.loads(capsys.readouterr().out)["content"]
    assert [n["code"] for n in notices] == ["profile-not-chosen"]

"""The documentation cannot drift: the reference pages are what the code generates, the site
builds with no warning, and the README stays a guide whose links lead somewhere."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

README = ROOT / "README.md"
GENERATOR = ROOT / "scripts" / "gen_reference.py"


def test_the_reference_pages_are_what_the_code_generates() -> None:
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_a_changed_page_is_caught(tmp_path: Path) -> None:
    """--check fails, naming the page, when a committed page differs from the code's."""
    pages = tmp_path / "reference"
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(pages)], cwd=ROOT, check=True)
    clouds = pages / "clouds.md"
    clouds.write_text(clouds.read_text().replace("AWS_ROLE_ARN", "AWS_ROLE"))
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--check", "--out", str(pages)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert f"{clouds} differs from what the code generates: run make docs" in result.stderr
    assert "commands.md" not in result.stderr


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "mkdocs"),
            "build",
            "--strict",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(tmp_path / "site"),
        ],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "NO_MKDOCS_2_WARNING": "1", "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "reference" / "clouds" / "index.html").is_file()
    assert (tmp_path / "site" / "getting-started" / "index.html").is_file()


def test_the_readme_is_a_guide() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= 350
    headings = [line for line in lines if line.startswith("## ")]
    assert headings[:2] == ["## Contents", "## Quick start"]
    start = lines.index("## Quick start")
    assert start < 80 and "make demo" in "\n".join(lines[start : start + 10])


def test_the_readmes_links_lead_somewhere() -> None:
    text = README.read_text()
    anchors = {
        re.sub(r"[^\w\- ]", "", line[3:].lower()).replace(" ", "-")
        for line in text.splitlines()
        if line.startswith("## ")
    }
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        path, _, anchor = target.partition("#")
        if target.startswith("#"):
            assert anchor in anchors, target
        else:
            assert (ROOT / path).exists(), target
            if anchor:
                page = (ROOT / path).read_text()
                titles = {
                    re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
                    for line in page.splitlines()
                    if line.startswith("#")
                }
                assert anchor in titles, target


def test_the_hcp_table_marks_every_name_that_takes_a_tag() -> None:
    """The guide's table of HCP Terraform's names is written by hand: each name of a cloud that
    takes tags is shown with `[_TAG]` where it first appears in a row."""
    from injector import clouds
    from injector.clouds import hcp

    rows = [
        line
        for line in (ROOT / "docs" / "guides" / "tags-and-hcp.md").read_text().splitlines()
        if line.startswith("| `TFC_")
    ]
    unmarked = []
    for cloud in clouds.registered():
        taking = cloud.taking_tags()
        for name in cloud.hcp.names if cloud.hcp is not None else ():
            if name.parts or name.variable not in taking:
                continue
            shown = f"`{hcp.PREFIX}{cloud.name.upper()}_{name.name}"
            row = next((row for row in rows if row.startswith(f"| {shown}")), None)
            if row is not None and not row.startswith(f"| {shown}[_TAG]`"):
                unmarked.append(shown.strip("`"))
    assert unmarked == []

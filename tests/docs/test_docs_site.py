"""The documentation site builds with `mkdocs build --strict` and is complete and self-contained.

- every public name of `payedge.__all__` has its entry in the Python API reference;
- every error code of the server's catalogue is in the built error-code reference;
- every setting of the configuration reference is in the built site;
- the README and the pages point at nothing outside the repository, and the built site
  loads nothing from another host;
- every internal link of the built site names a file (the site works from file://).
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import payedge
import pytest
from payedge_server.config.model import Config
from payedge_server.config.schema import specs
from payedge_server.errors import CATALOGUE

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
# Names of files that are not in the repository (the team's own notes and contract file).
OUTSIDE = re.compile(r"\bshared/|\bSPEC\.md|/work/|\bseeds/|\]\(/")

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=150,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "WARNING" not in result.stderr, result.stderr[-4000:]
    return out


def _text(page: Path) -> str:
    return html.unescape(page.read_text(encoding="utf-8"))


def test_every_public_name_is_in_the_python_reference(site: Path) -> None:
    page = _text(site / "reference" / "python.html")
    ids = set(re.findall(r'id="(payedge\.[\w.]+)"', page))
    missing = [name for name in payedge.__all__ if f"payedge.{name}" not in ids]
    assert not missing, f"not in the Python API reference: {missing}"


def test_every_error_code_is_in_the_error_reference(site: Path) -> None:
    page = _text(site / "errors.html")
    missing = [code for code in CATALOGUE if f"<code>{code}</code>" not in page]
    assert not missing, f"not in the error-code reference: {missing}"


def test_every_setting_is_in_the_configuration_reference(site: Path) -> None:
    page = _text(site / "configuration.html")
    missing = [spec.path for spec in specs(Config) if f"<code>{spec.path}</code>" not in page]
    assert not missing, f"not in the configuration reference: {missing}"


def test_every_tutorial_and_spec_page_is_built(site: Path) -> None:
    for folder in ("tutorials", "spec"):
        for source in (DOCS / folder).glob("*.md"):
            assert (site / folder / f"{source.stem}.html").exists(), source


HREF = re.compile(r'<a\b[^>]*\bhref="([^"]*)"')
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)


def test_internal_links_name_a_page_file_so_the_site_works_from_file(site: Path) -> None:
    """Opened from file:// (the README's "Open site/index.html") no server turns a folder into its
    index.html: every internal link names an existing file (`live.html`, `examples/paris.json`)
    or is an anchor of its own page, never a bare folder."""
    bad = []
    for page in site.rglob("*.html"):
        if page.name == "404.html":  # served by a web server at any depth: its links are root-absolute
            continue
        for raw in HREF.findall(page.read_text(encoding="utf-8")):
            href = html.unescape(raw)
            if not href or href.startswith("#") or EXTERNAL.match(href):
                continue
            path = href.split("#", 1)[0].split("?", 1)[0]
            target = (page.parent / path).resolve()
            if not target.is_file() or not (path.endswith(".html") or Path(path).suffix):
                bad.append((str(page.relative_to(site)), href))
    assert not bad, bad[:20]


def test_the_built_site_loads_nothing_from_another_host(site: Path) -> None:
    """No web fonts, scripts or styles from a CDN: the site works offline."""
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        loads = re.findall(r'<(?:script|link|img)\b[^>]*(?:src|href)="(https?:)?//[^"]*"', text)
        assert not loads, (page, loads)


@pytest.mark.parametrize("path", ["README.md", *sorted(str(p.relative_to(REPO)) for p in DOCS.rglob("*.md"))])
def test_nothing_points_outside_the_repository(path: str) -> None:
    text = (REPO / path).read_text(encoding="utf-8")
    if path.startswith("docs/"):
        # a page may link to a file beside it, not above docs/ (the site would not have it)
        found = re.findall(r"\]\((\.\./[^)]*)\)", text)
        depth = len(Path(path).parts) - 2  # folders below docs/
        escaping = [link for link in found if link.count("../") > depth]
        assert not escaping, f"{path} links outside docs/: {escaping}"
    else:
        assert "](../" not in text, f"{path} links above the repository"
    hits = [m.group(0) for m in OUTSIDE.finditer(text)]
    assert not hits, f"{path} points outside the repository: {hits}"

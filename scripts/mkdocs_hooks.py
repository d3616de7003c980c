"""MkDocs hooks of the documentation site (mkdocs.yml `hooks:`).

- `changelog.md` shows the repository's CHANGELOG.md (one file, no copy), its
  `docs/...` links made relative to the site.
- A citation of the specification in a page ("SPEC 2.3", "SPEC section 4") becomes a
  link to that section of the site's own specification pages (docs/spec/), so pages
  written against the contract point inside the site. Code spans and fenced blocks are
  left as they are. A section with no page yet stays plain text. In the API reference the
  citations come from docstrings, rendered after the Markdown: they are linked in the
  page's HTML (text outside code and links only).
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from markdown.extensions.toc import slugify  # type: ignore[import-untyped]

# Section number -> its page under docs/spec/.
SPEC_PAGES = {
    "1": "spec/index.md",
    "2": "spec/core.md",
    "3": "spec/server.md",
    "4": "spec/parking.md",
    "5": "spec/providers.md",
    "6": "spec/ledger.md",
    "7": "spec/scale-out.md",
    "8": "spec/orders.md",
    "9": "spec/configuration.md",
    "10": "spec/embedding.md",
}
# An existing Markdown link (left alone), or a citation to link.
CITATION = re.compile(
    r"(?P<link>\[[^\]]*\]\([^)]*\))|\bSPEC(?: section)? (?P<section>\d+)(?:\.(?P<sub>\d+))?\b"
)
FENCE = re.compile(r"^\s*(```|~~~)")


def _anchors(docs_dir: Path) -> dict[str, str]:
    """'2.1' -> 'spec/core.md#21-webhook-signatures', from the spec pages' headings."""
    found: dict[str, str] = {}
    for page in set(SPEC_PAGES.values()):
        for line in (docs_dir / page).read_text(encoding="utf-8").splitlines():
            match = re.match(r"^#{2,3} (\d+\.\d+) ", line)
            if match:
                found[match.group(1)] = f"{page}#{slugify(line.lstrip('#').strip(), '-')}"
    return found


def _link(match: re.Match[str], here: str, anchors: dict[str, str]) -> str:
    if match.group("link"):
        return match.group(0)
    section, sub = match.group("section"), match.group("sub")
    target = (anchors.get(f"{section}.{sub}") if sub else None) or SPEC_PAGES.get(section)
    if target is None:
        return match.group(0)
    page, _, anchor = target.partition("#")
    rel = posixpath.relpath(page, posixpath.dirname(here) or ".")
    return f"[{match.group(0)}]({rel}{'#' + anchor if anchor else ''})"


def _link_citations(markdown: str, here: str, anchors: dict[str, str]) -> str:
    out, fenced = [], False
    for line in markdown.split("\n"):
        if FENCE.match(line):
            fenced = not fenced
        if not fenced and "SPEC" in line:
            parts = line.split("`")
            for i in range(0, len(parts), 2):  # outside code spans only
                parts[i] = CITATION.sub(lambda m: _link(m, here, anchors), parts[i])
            out.append("`".join(parts))
        else:
            out.append(line)
    return "\n".join(out)


HTML_TOKENS = re.compile(r"(<[^>]+>)")
SKIP_INSIDE = ("code", "a", "pre")


def _link_html(content: str, page: Any, files: Any, anchors: dict[str, str]) -> str:
    depth = 0  # inside code, a link or pre
    out = []
    for token in HTML_TOKENS.split(content):
        if token.startswith("<"):
            tag = re.match(r"</?(\w+)", token)
            if tag and tag.group(1) in SKIP_INSIDE and not token.endswith("/>"):
                depth += -1 if token.startswith("</") else 1
            out.append(token)
        elif depth > 0 or "SPEC" not in token:
            out.append(token)
        else:
            out.append(CITATION.sub(lambda m: _html_link(m, page, files, anchors), token))
    return "".join(out)


def _html_link(match: re.Match[str], page: Any, files: Any, anchors: dict[str, str]) -> str:
    if match.group("link"):
        return match.group(0)
    section, sub = match.group("section"), match.group("sub")
    target = (anchors.get(f"{section}.{sub}") if sub else None) or SPEC_PAGES.get(section)
    if target is None:
        return match.group(0)
    path, _, anchor = target.partition("#")
    # MkDocs's own relative URL: right whether pages are files (`use_directory_urls: false`,
    # what file:// needs) or folders.
    href = files.get_file_from_path(path).url_relative_to(page.file) + (f"#{anchor}" if anchor else "")
    return f'<a href="{href}">{match.group(0)}</a>'


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    if not page.file.src_uri.startswith("reference/"):
        return html
    return _link_html(html, page, files, _anchors(Path(config["docs_dir"])))


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    here = page.file.src_uri
    docs_dir = Path(config["docs_dir"])
    if here == "changelog.md":
        changelog = (Path(config["config_file_path"]).parent / "CHANGELOG.md").read_text(encoding="utf-8")
        markdown = re.sub(r"\]\(docs/", "](", changelog)
    if here.startswith("spec/"):
        return markdown
    return _link_citations(markdown, here, _anchors(docs_dir))

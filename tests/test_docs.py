"""The README stays a newcomer's page and every reference page it points to exists."""

import re

from lib.paths import ROOT

README = ROOT / "README.md"
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lstrip("#").strip().lower())
    return text.replace(" ", "-")


def _local_links(path):
    return [link for link in LINK.findall(path.read_text()) if not re.match(r"[a-z]+:", link)]


def test_readme_is_short():
    assert len(README.read_text().splitlines()) < 250


def test_every_local_link_resolves_to_a_file_and_heading():
    pages = [README, *sorted((ROOT / "docs").glob("*.md"))]
    checked = 0
    for page in pages:
        for link in _local_links(page):
            target, _, anchor = link.partition("#")
            path = (page.parent / target).resolve() if target else page
            assert path.is_file(), f"{page.name}: link to missing {link}"
            if anchor:
                headings = [_anchor(line) for line in path.read_text().splitlines() if line.startswith("#")]
                assert anchor in headings, f"{page.name}: no heading #{anchor} in {path.name}"
            checked += 1
    assert checked > 10


def test_every_reference_page_is_linked_from_the_readme():
    linked = {(ROOT / link.partition("#")[0]).resolve() for link in _local_links(README)}
    pages = set((ROOT / "docs").glob("*.md"))
    assert pages and {p.resolve() for p in pages} <= linked

"""Render the Quarto report in `report/` to HTML.

`quarto render` is used where Quarto is installed. Where it is not (Quarto's binary cannot be
installed on the project machines), each page is read as R Markdown by jupytext (a `.qmd`'s
```{python} chunks are R Markdown chunks), executed with nbclient and written to HTML by
nbconvert, code hidden as the Quarto project's `echo: false` asks, and given the navigation bar
`_quarto.yml` declares (`website.navbar`: the site title and one link per page, the current page
marked). Both write `report/_site/`. The fallback executes its pages in parallel, one kernel per
CPU core: each page is independent and most of its time is one single-threaded kernel.

Usage: python -m lib.report_render [report_dir] [--engine auto|quarto|fallback]
"""

from __future__ import annotations

import argparse
import html
import os
import shutil
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

from lib.errors import InputError
from lib.paths import REPORT


def pages(report_dir: Path) -> list[Path]:
    """The pages to render, in the order `_quarto.yml` lists them (else every .qmd, sorted)."""
    config = yaml.safe_load((report_dir / "_quarto.yml").read_text()) or {}
    listed = config.get("project", {}).get("render")
    found = [report_dir / p for p in listed] if listed else sorted(report_dir.glob("*.qmd"))
    missing = [p for p in found if not p.is_file()]
    if missing:
        raise InputError(f"{report_dir / '_quarto.yml'}: lists missing pages {missing}")
    return found


@dataclass(frozen=True)
class NavLink:
    text: str
    page: str  # the .qmd file name the link points at; the HTML is `<stem>.html`

    @property
    def href(self) -> str:
        return f"{Path(self.page).stem}.html"


def site_navigation(report_dir: Path) -> tuple[str, list[NavLink]]:
    """The site title and the navbar links `_quarto.yml` declares (`website.navbar.left`, then
    `right`; an entry is a page name or `{href, text}`), those of the pages rendered. Without a
    navbar: every page, its front matter title as the link text. InputError when a link names a
    page that does not exist."""
    report_dir = Path(report_dir)
    config = yaml.safe_load((report_dir / "_quarto.yml").read_text()) or {}
    website = config.get("website") or {}
    navbar = website.get("navbar") or {}
    entries = [*(navbar.get("left") or []), *(navbar.get("right") or [])]
    links = []
    for entry in entries:
        href = entry if isinstance(entry, str) else entry.get("href")
        if not href:
            raise InputError(f"{report_dir / '_quarto.yml'}: navbar entry {entry!r} has no href")
        if not (report_dir / href).is_file():
            raise InputError(f"{report_dir / '_quarto.yml'}: navbar links to missing page {href}")
        text = entry.get("text") if isinstance(entry, dict) else None
        links.append(NavLink(text or _front_matter(report_dir / href).get("title", Path(href).stem), href))
    rendered = pages(report_dir)
    if not links:
        links = [NavLink(_front_matter(p).get("title", p.stem), p.name) for p in rendered]
    # A render of some pages only (project.render) must not link to pages it does not write.
    names = {p.name for p in rendered}
    return str(website.get("title", "")), [link for link in links if link.page in names]


def _navbar_html(title: str, links: list[NavLink], current: str) -> str:
    """A navbar like Quarto's: the site title, then the page links, the current one marked."""
    items = []
    for link in links:
        here = ' aria-current="page" style="font-weight:bold;text-decoration:none"' if link.page == current else ""
        items.append(f'<li style="display:inline;margin-right:1.2em"><a href="{html.escape(link.href)}"{here}>'
                     f"{html.escape(link.text)}</a></li>")
    heading = f'<span style="margin-right:2em;font-weight:bold">{html.escape(title)}</span>' if title else ""
    return ('<nav class="navbar" aria-label="site" style="padding:0.6em 1em;border-bottom:1px solid #ccc;'
            f'font-family:sans-serif">{heading}<ul style="display:inline;padding:0;margin:0">'
            f'{"".join(items)}</ul></nav>')


def render_fallback(page: Path, out_dir: Path, timeout: int = 1200,
                    navigation: tuple[str, list[NavLink]] | None = None) -> Path:
    """Execute one .qmd page without Quarto and write `<out_dir>/<page>.html`; `navigation`
    (site title, links; see `site_navigation`) puts a navbar at the top of the page."""
    import jupytext
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from nbconvert import HTMLExporter

    notebook = jupytext.reads(page.read_text(), fmt="Rmd")
    title = _front_matter(page).get("title", page.stem)
    notebook.cells = _quarto_cells(notebook.cells, title)
    # nbformat gives new cells random ids, which end up in the HTML: number them instead, so the
    # same outputs render to the same bytes.
    for number, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{number}"
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata.pop("jupyter", None)
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3",
        resources={"metadata": {"path": str(page.parent)}},
    )
    try:
        client.execute()
    except CellExecutionError as err:  # its message is the whole traceback; name the page instead
        raise RuntimeError(f"{page}: a cell raised {err.ename}: {err.evalue}") from None
    notebook.cells = _number_figures(notebook.cells)
    errors = [
        output for cell in notebook.cells if cell.cell_type == "code"
        for output in cell.get("outputs", []) if output.get("output_type") == "error"
    ]
    if errors:
        raise RuntimeError(f"{page}: a cell raised {errors[0]['ename']}: {errors[0]['evalue']}")
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nbformat.from_dict(notebook), resources={"metadata": {"name": title}})
    if navigation is not None:
        body = _insert_after_body_tag(body, _navbar_html(*navigation, current=page.name))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{page.stem}.html"
    target.write_text(body)
    return target


def _insert_after_body_tag(document: str, fragment: str) -> str:
    start = document.find("<body")
    end = document.find(">", start)
    if start < 0 or end < 0:
        raise RuntimeError("nbconvert wrote HTML without a <body> tag")
    return document[: end + 1] + "\n" + fragment + document[end + 1 :]


def _quarto_cells(cells: list, title: str) -> list:
    """What Quarto would show, as notebook cells: the title instead of the front matter, and each
    figure's `#| fig-cap` as a caption under its cell."""
    from nbformat.v4 import new_markdown_cell

    out = [new_markdown_cell(f"# {title}")]
    for cell in cells:
        if cell.cell_type == "raw" and cell.source.lstrip().startswith("---"):
            continue
        out.append(cell)
        options = {}
        if cell.cell_type == "code":
            option_lines = [ln[3:] for ln in cell.source.splitlines() if ln.startswith("#| ")]
            options = yaml.safe_load("\n".join(option_lines)) or {}
        if "fig-cap" in options:
            out.append(new_markdown_cell(options["fig-cap"], metadata={"fig_cap": True}))
    return out


def _number_figures(cells: list) -> list:
    """After execution: number the captions of cells that drew a figure, and drop the captions
    of cells that drew none (a page states plainly when a figure's input is absent)."""
    out = []
    figure = 0
    for cell in cells:
        if cell.cell_type == "markdown" and cell.metadata.get("fig_cap"):
            drew = out and out[-1].cell_type == "code" and any(
                "image/png" in o.get("data", {}) for o in out[-1].get("outputs", []))
            if drew:
                figure += 1
                cell.source = f"*Figure {figure}: {cell.source}*"
                out.append(cell)
            continue
        out.append(cell)
    return out


def _front_matter(page: Path) -> dict:
    text = page.read_text()
    if not text.startswith("---"):
        return {}
    return yaml.safe_load(text.split("---", 2)[1]) or {}


def render(report_dir: Path = REPORT, engine: str = "auto") -> list[Path]:
    """Render every page; returns the HTML files written under `report_dir/_site`."""
    report_dir = Path(report_dir)
    out_dir = report_dir / "_site"
    if engine == "quarto" or (engine == "auto" and shutil.which("quarto")):
        subprocess.run(["quarto", "render", str(report_dir)], check=True)
        return sorted(out_dir.glob("*.html"))
    navigation = site_navigation(report_dir)  # checked before anything is removed or written
    shutil.rmtree(out_dir, ignore_errors=True)
    todo = pages(report_dir)
    workers = max(1, min(len(todo), os.cpu_count() or 1))
    print(f"rendering {len(todo)} pages, {workers} at a time (fallback: jupytext + nbclient + "
          "nbconvert)", flush=True)
    # Pages are written in the same order and to the same bytes however many run at once.
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(render_fallback, page, out_dir, navigation=navigation) for page in todo]
        written = []
        for page, future in zip(todo, futures, strict=True):
            try:
                written.append(future.result())
            except BaseException:
                for pending in futures:
                    pending.cancel()
                raise
            print(f"rendered {page.name}", flush=True)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report_dir", nargs="?", default=str(REPORT))
    parser.add_argument("--engine", choices=["auto", "quarto", "fallback"], default="auto")
    args = parser.parse_args(argv)
    for path in render(Path(args.report_dir), args.engine):
        print(f"wrote {path}")


if __name__ == "__main__":
    try:
        main()
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)

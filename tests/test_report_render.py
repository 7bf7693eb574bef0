import re

import pytest

from lib.errors import InputError
from lib.report_render import pages, render, render_fallback, site_navigation

PAGE = '''---
title: "A test page"
---

Some text.

```{python}
#| label: fig-line
#| fig-cap: "A line."
import matplotlib.pyplot as plt
fig = plt.plot([0, 1], [1, 2])
```

```{python}
print(6 * 7)
```
'''


def test_fallback_renders_title_output_figure_and_caption(tmp_path):
    page = tmp_path / "page.qmd"
    page.write_text(PAGE)
    html = render_fallback(page, tmp_path / "_site").read_text()
    assert "A test page" in html and "Some text." in html
    assert "42" in html
    assert "data:image/png;base64" in html
    assert "Figure 1: A line." in html
    assert "import matplotlib" not in html  # code hidden, as echo: false asks
    assert "title:" not in html  # front matter not shown as text


def test_fallback_fails_loudly_when_a_cell_raises(tmp_path):
    page = tmp_path / "bad.qmd"
    page.write_text('---\ntitle: "x"\n---\n\n```{python}\nraise ValueError("boom")\n```\n')
    with pytest.raises(Exception, match="boom"):
        render_fallback(page, tmp_path / "_site")


def test_pages_follow_the_quarto_project_order(tmp_path):
    (tmp_path / "_quarto.yml").write_text("project:\n  render:\n    - b.qmd\n    - a.qmd\n")
    for name in ("a.qmd", "b.qmd"):
        (tmp_path / name).write_text("x")
    assert [p.name for p in pages(tmp_path)] == ["b.qmd", "a.qmd"]


def test_fallback_drops_the_caption_of_a_cell_that_drew_nothing(tmp_path):
    page = tmp_path / "page.qmd"
    page.write_text(
        '---\ntitle: "t"\n---\n\n```{python}\n#| fig-cap: "Absent."\nprint("not available")\n```\n\n'
        '```{python}\n#| fig-cap: "Drawn."\nimport matplotlib.pyplot as plt\nfig = plt.plot([0, 1])\n```\n'
    )
    html = render_fallback(page, tmp_path / "_site").read_text()
    assert "Absent." not in html and "not available" in html
    assert "Figure 1: Drawn." in html


def test_fallback_renders_the_same_bytes_twice(tmp_path):
    page = tmp_path / "page.qmd"
    page.write_text(PAGE)
    first = render_fallback(page, tmp_path / "a").read_bytes()
    assert render_fallback(page, tmp_path / "b").read_bytes() == first


QUARTO = """project:
  type: website
  render: [home.qmd, second.qmd, third.qmd]
website:
  title: "A site"
  navbar:
    left:
      - href: home.qmd
        text: Home page
      - second.qmd
      - href: third.qmd
        text: Third
      - href: unrendered.qmd
        text: Not rendered
"""


def _site(tmp_path):
    (tmp_path / "_quarto.yml").write_text(QUARTO)
    for name, title in (("home", "Home"), ("second", "The second page"), ("third", "Third page"),
                        ("unrendered", "Left out")):
        (tmp_path / f"{name}.qmd").write_text(f'---\ntitle: "{title}"\n---\n\nText of {name}.\n')
    return tmp_path


def test_site_navigation_follows_the_quarto_navbar(tmp_path):
    title, links = site_navigation(_site(tmp_path))
    assert title == "A site"
    # navbar order and texts; an entry without text takes its page's title; a page outside
    # project.render is not linked (its HTML is never written)
    assert [(link.text, link.href) for link in links] == [
        ("Home page", "home.html"), ("The second page", "second.html"), ("Third", "third.html")]


def test_site_navigation_names_a_missing_page(tmp_path):
    _site(tmp_path)
    (tmp_path / "third.qmd").unlink()
    with pytest.raises(InputError, match="_quarto.yml.*third.qmd"):
        site_navigation(tmp_path)


def test_every_fallback_page_links_to_every_page(tmp_path):
    written = render(_site(tmp_path), engine="fallback")
    assert [p.name for p in written] == ["home.html", "second.html", "third.html"]
    for page in written:
        nav = page.read_text().split("<nav", 1)[1].split("</nav>", 1)[0]
        hrefs = re.findall(r'<a href="([^"]+)"', nav)
        assert hrefs == ["home.html", "second.html", "third.html"], page.name
        assert all((page.parent / h).is_file() for h in hrefs)
        current = re.findall(r'<a href="([^"]+)" aria-current="page"', nav)
        assert current == [page.name]
        assert "A site" in nav


def test_parallel_site_render_matches_pages_rendered_one_by_one(tmp_path):
    (tmp_path / "site").mkdir()
    site = _site(tmp_path / "site")
    written = render(site, engine="fallback")  # pages run concurrently, one kernel per core
    navigation = site_navigation(site)
    for page in written:
        alone = render_fallback(site / f"{page.stem}.qmd", tmp_path / "alone", navigation=navigation)
        assert page.read_bytes() == alone.read_bytes(), page.name


def test_site_render_fails_naming_the_page_whose_cell_raised(tmp_path):
    site = _site(tmp_path)
    (site / "second.qmd").write_text('---\ntitle: "x"\n---\n\n```{python}\nraise ValueError("boom")\n```\n')
    with pytest.raises(RuntimeError, match=r"second\.qmd: a cell raised ValueError: boom"):
        render(site, engine="fallback")

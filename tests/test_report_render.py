import pytest

from lib.report_render import pages, render_fallback

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

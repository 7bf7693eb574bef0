"""The report renders, and in headless Chromium every figure loads and no cell raised.

Two renders: the project's own report from the outputs present (report/_site, what `dvc repro`
builds), and a copy of the project filled with synthetic outputs of every stage
(tests/synthetic_outputs.py), so that each section's full path is exercised whatever has run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lib.paths import REPORT, ROOT
from lib.report_render import pages, render

pytestmark = [pytest.mark.slow, pytest.mark.data]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromedriver are not installed")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
                 "--window-size=1280,2000"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait_for(browser, url: str) -> None:
    """Under load, get() and click() can return before the new document has parsed its body (CI
    once read the previous page's tables): wait until `url` is the complete document."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 60).until(
        lambda b: b.execute_script("return document.readyState === 'complete' && location.href === arguments[0];",
                                   url),
        message=f"{url} did not finish loading within 60 s")


def _open(browser, url: str) -> None:
    browser.get(url)
    _wait_for(browser, url)


def _check_page(browser, html: Path, screenshot: Path | None = None) -> dict:
    """Open a rendered page; every <img> must have loaded (naturalWidth > 0) and no cell output may
    show an error. Returns {"images": n, "text": the page's visible text}."""
    _open(browser, html.resolve().as_uri())
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.src.slice(0, 30)]);")
    broken = [src for complete, width, src in images if not complete or width == 0]
    assert not broken, f"{html.name}: images that did not load: {broken}"
    text = browser.execute_script("return document.body.innerText;")
    for marker in ("Traceback", "Error:", "Exception"):
        assert marker not in text, f"{html.name}: a cell printed {marker!r}"
    if screenshot is not None:
        browser.save_screenshot(str(screenshot))
    return {"images": len(images), "text": text}


def _follow_navigation(browser, site: Path, start: str) -> list[str]:
    """From `start`, click each navbar link in turn (back on `start` before each click): every
    link must land on its page, and every page's navbar must link to the same pages, the page
    itself marked current. Returns the page files reached."""
    from selenium.webdriver.common.by import By

    def nav_links():
        return [(a.text, a.get_attribute("href")) for a in browser.find_elements(By.CSS_SELECTOR, "nav a")]

    _open(browser, (site / start).resolve().as_uri())
    links = nav_links()
    assert links, f"{start}: no navigation links"
    reached = []
    for text, href in links:
        _open(browser, (site / start).resolve().as_uri())
        browser.find_element(By.LINK_TEXT, text).click()
        _wait_for(browser, href)
        assert browser.current_url == href, f"{start}: link {text!r} went to {browser.current_url}"
        assert nav_links() == links, f"{href}: its navbar differs from {start}'s"
        current = browser.find_elements(By.CSS_SELECTOR, 'nav a[aria-current="page"]')
        assert [a.text for a in current] == [text]
        reached.append(href.rsplit("/", 1)[-1])
    return reached


def test_project_report_renders_and_loads_in_chromium(browser):
    written = render(REPORT, engine="fallback")  # raises if any cell raised
    assert [p.stem for p in written] == [p.stem for p in pages(REPORT)]
    seen = {html.stem: _check_page(browser, html) for html in written}
    assert seen["index"]["images"] >= 3  # the human maps page needs only the human stages
    for page in ("results", "masking", "statistics", "methods"):
        assert seen[page]["text"].strip(), page
    # A reader who opens the index reaches every page from it.
    assert sorted(_follow_navigation(browser, REPORT / "_site", "index.html")) == sorted(p.name for p in written)


def _project_copy(root: Path) -> Path:
    """A copy of the code, report and params beside links to the real study data and human maps."""
    for name in ("lib", "stages", "report"):
        shutil.copytree(ROOT / name, root / name,
                        ignore=shutil.ignore_patterns("_site", ".quarto", "__pycache__", "*_files"))
    (root / "data").mkdir()
    for name in ("raw", "human"):
        (root / "data" / name).symlink_to(ROOT / "data" / name)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    # What the run would list: one model has no store, as when its weights were absent.
    params.setdefault("extract_attention", {})["models"] = ["effnetlite0-I", "effnetlite1-I", "effnetlite0-R",
                                                            "alexnet-R", "vgg16bn-I"]
    params.setdefault("smoothing", {})["max_sigma"] = 30
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    quarto = yaml.safe_load((root / "report/_quarto.yml").read_text())
    quarto["project"]["render"] = [p for p in quarto["project"]["render"] if p != "index.qmd"]
    (root / "report/_quarto.yml").write_text(yaml.safe_dump(quarto, sort_keys=False))
    if not (root / "lib/compare/blur.py").exists():
        # The report blurs with the comparison stage's imgaussfilt; stand in for it where absent.
        (root / "lib/compare").mkdir(exist_ok=True)
        (root / "lib/compare/blur.py").write_text(
            "from scipy.ndimage import gaussian_filter\n\n\n"
            "def blur_maps(maps, sigma):\n"
            "    return gaussian_filter(maps, sigma=(0, sigma, sigma), mode='nearest') if sigma else maps\n")
    return root


def test_full_report_on_synthetic_outputs(browser, tmp_path):
    root = _project_copy(tmp_path / "project")
    params = yaml.safe_load((root / "params.yaml").read_text())
    code = ("import sys; sys.path.insert(0, '.'); from tests_synthetic import write; "
            f"write('.', {params['data']['images']!r})")
    shutil.copy(Path(__file__).with_name("synthetic_outputs.py"), root / "tests_synthetic.py")
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)
    subprocess.run([sys.executable, "-m", "stages.stats"], cwd=root, check=True)
    subprocess.run([sys.executable, "-m", "lib.report_render", "report", "--engine", "fallback"], cwd=root,
                   check=True)
    site = root / "report/_site"
    seen = {html.stem: _check_page(browser, html, tmp_path / f"{html.stem}.png")
            for html in sorted(site.glob("*.html"))}
    assert set(seen) == {"results", "masking", "sanity", "leaderboard", "statistics", "methods"}
    assert sorted(_follow_navigation(browser, site, "results.html")) == sorted(f"{p}.html" for p in seen)
    board = seen["leaderboard"]["text"]
    assert "Benchmark version 1" in board and "NSS of bms against FREE" in board
    # The planted best trained type tops the board; sorting by a column reorders the trained rows only,
    # the controls stay below the rule.
    _open(browser, (site / "leaderboard.html").resolve().as_uri())
    first = "return Array.from(document.querySelectorAll('#leaderboard tbody.%s tr')).map(r => r.cells[0].innerText);"
    assert browser.execute_script(first % "ranked")[0] == "effnetlite1-SGBP-I"
    controls = set(browser.execute_script(first % "controls"))
    assert "alexnet-GBP-R" in controls and "gbvs" in controls and not any(c.endswith("-I") for c in controls)
    column = browser.execute_script(
        "return Array.from(document.querySelectorAll('#leaderboard th')).findIndex(h => h.innerText === 'KL ↓');")
    browser.execute_script(f"document.querySelectorAll('#leaderboard th')[{column}].click();")
    kl = browser.execute_script("return Array.from(document.querySelectorAll('#leaderboard tbody.ranked tr'))"
                                f".map(r => +r.cells[{column}].dataset.v);")
    assert kl == sorted(kl, reverse=True) and len(kl) == 12
    assert set(browser.execute_script(first % "controls")) == controls
    sanity = seen["sanity"]["text"]
    assert seen["sanity"]["images"] == 4  # two cascade curves, the cascade's maps, the plane
    assert "Methods passing on every network: GradCAM" in sanity and "failing on every network: GBP" in sanity
    # Peak r, PC scatter, smoothing, maps, cross-validation, controls.
    assert seen["results"]["images"] == 6
    assert "Not available" not in seen["results"]["text"]
    text = seen["results"]["text"]
    # The answer paragraph: the planted best trained type, never the higher-scoring random control,
    # which is named as a control scoring as high.
    answer = text.split("The answer and its controls")[1].split("Every map type against")[0]
    assert "effnetlite1-SGBP-I predicted the Human PC best" in answer
    assert "effnetlite0-SGBP-R" in answer or "alexnet-SGBP-R" in answer  # its random counterpart
    assert "as high as or higher than the best trained map type" in answer and "alexnet-GBP-R" in answer
    assert "GBVS" in answer and "BMS" in answer and "centre-bias" in answer
    assert "participants resampled with replacement 100 times" in text
    assert seen["masking"]["images"] == 2  # inverse ranks, example stimuli
    assert "main effect of masking" in seen["masking"]["text"]
    assert "no d' analysis" in seen["masking"]["text"]  # no human responses in this run
    stats_text = seen["statistics"]["text"]
    assert "Recognition: repeated-measures ANOVA" in stats_text and "masking x mask type" in stats_text
    assert stats_text.count("Not available") == 1  # the d' tests only
    methods = seen["methods"]["text"]
    assert "0, 1, ..., 30" in methods and "31 values" in methods
    assert "vgg16bn-I" in methods.split("What this run could not include")[1]
    assert "Deviations from the study" in methods and "F(1, 24)" in methods

"""The experiment page in headless Chromium: a scripted participant clicks through one set and
the responses file the page saves is accepted by the analysis."""

import shutil
import time
from pathlib import Path

import pytest

from lib.recognition.analysis import analyse, read_responses
from lib.recognition.human import write_experiment

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed")
if not CHROMIUM or not Path(CHROMEDRIVER).is_file():
    pytest.skip("chromium and chromedriver not installed (make test installs them)",
                allow_module_level=True)

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture
def browser(tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(downloads)})
    try:
        yield driver, downloads
    finally:
        driver.quit()


def _saved(folder: Path, name: str, timeout: float = 20) -> Path:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        path = folder / name
        if path.is_file() and not list(folder.glob("*.crdownload")):
            return path
        time.sleep(0.1)
    raise AssertionError(f"no {name} in {folder}: {sorted(p.name for p in folder.iterdir())}")


def test_click_through_one_set_saves_responses_the_analysis_reads(small_experiment, tmp_path,
                                                                   browser):
    driver, downloads = browser
    out = tmp_path / "human"
    write_experiment(small_experiment, out, fixation_ms=300, flash_ms=200, iti_ms=100)
    trials = small_experiment.trials
    block = trials[trials["set"] == 2].sort_values("trial")
    driver.get((out / "experiment.html").as_uri() + "?participant=tester%201&set=2")
    driver.find_element(By.ID, "start").click()
    wait = WebDriverWait(driver, 15)
    picks = []
    for k, t in enumerate(block.itertuples()):
        wait.until(lambda d: d.find_element(By.ID, "choice-screen").is_displayed())
        buttons = driver.find_elements(By.CSS_SELECTOR, "#options .option")
        # The stimulus that was flashed is this trial's PNG, loaded from disk.
        shown = driver.execute_script("const s = document.getElementById('stimulus');"
                                      "return [s.src, s.naturalWidth];")
        assert shown[0].endswith(f"/stimuli/{t.stimulus}.png") and shown[1] == 64
        assert [b.get_attribute("data-image") for b in buttons] == t.options.split(";")
        assert buttons[0].text == small_experiment.labels[buttons[0].get_attribute("data-image")]
        # Right on even trials, a wrong label set on odd ones.
        pick = t.image if k % 2 == 0 else next(o for o in t.options.split(";") if o != t.image)
        next(b for b in buttons if b.get_attribute("data-image") == pick).click()
        picks.append(pick)
        wait.until(lambda d: not d.find_element(By.ID, "choice-screen").is_displayed())
    saved = _saved(downloads, "responses_tester_1_set2.csv")

    responses = read_responses(saved, trials)
    assert list(responses["participant"].unique()) == ["tester 1"]
    assert list(responses["trial"]) == list(range(10))
    assert list(responses["response"]) == picks
    assert list(responses["stimulus"]) == list(block["stimulus"])
    assert responses["correct"].sum() == 5

    import pandas as pd

    raw = pd.read_csv(saved)
    assert list(raw["correct"]) == [1, 0] * 5
    assert raw["flash_ms"].between(180, 600).all()  # frame-timed; headless frames are coarse
    assert (raw["rt_ms"] >= 0).all()

    metrics, tables = analyse(saved, trials, list(small_experiment.masks),
                             list(small_experiment.image_ids), 0.15, 50, 0)
    assert metrics["trials"] == 10 and metrics["excluded"] == []
    assert metrics["accuracy"] == 0.5
    assert tables["dprime"]["n_signal"].sum() == 10

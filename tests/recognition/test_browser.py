"""The jsPsych experiment page in headless Chromium from file://: a scripted participant goes
through consent, browser check, fullscreen, instructions, preload and one whole set, and the
jsPsych data file the page saves is read by the analysis."""

import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from lib.recognition.analysis import analyse, read_responses
from lib.recognition.human import write_experiment
from tests.recognition.simulate import jspsych_columns

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
                 "--disable-sync", "--no-first-run", "--window-size=1280,1024",
                 "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
                 f"--user-data-dir={tmp_path / 'profile'}"):
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


def _click(driver, css: str, timeout: float = 20) -> None:
    WebDriverWait(driver, timeout).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, css) and d.find_element(By.CSS_SELECTOR, css).is_displayed())
    driver.find_element(By.CSS_SELECTOR, css).click()


def test_click_through_one_set_saves_jspsych_data_the_analysis_reads(small_experiment, tmp_path,
                                                                      browser):
    driver, downloads = browser
    out = tmp_path / "human"
    write_experiment(small_experiment, out, fixation_ms=300, flash_ms=200, iti_ms=100)
    trials = small_experiment.trials
    block = trials[trials["set"] == 2].sort_values("trial")
    driver.get((out / "experiment.html").as_uri() + "?participant=tester%201&set=2"
               "&PROLIFIC_PID=pp7&STUDY_ID=st1&SESSION_ID=se9")
    _click(driver, ".jspsych-btn")  # consent; the browser check then runs by itself
    _click(driver, "#jspsych-fullscreen-btn")
    for _ in range(2):  # two instruction pages
        _click(driver, "#jspsych-instructions-next")
    wait = WebDriverWait(driver, 20)
    picks = []
    for k, t in enumerate(block.itertuples()):
        want = t.options.split(";")
        wait.until(lambda d, want=want: [
            b.get_attribute("data-image") for b in d.find_elements(By.CSS_SELECTOR, "button.option")] == want)
        buttons = driver.find_elements(By.CSS_SELECTOR, "button.option")
        assert buttons[0].text == small_experiment.labels[buttons[0].get_attribute("data-image")]
        # Right on even trials, a wrong label set on odd ones.
        pick = t.image if k % 2 == 0 else next(o for o in t.options.split(";") if o != t.image)
        next(b for b in buttons if b.get_attribute("data-image") == pick).click()
        picks.append(pick)
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "button.option"))
    _click(driver, ".jspsych-btn")  # the end screen's Finish saves the data
    saved = _saved(downloads, "recognition_tester_1_set2.csv")
    # Every script and style sheet came from the folder (and the proxy flag leaves no network).
    loaded = driver.execute_script("return [...document.scripts].map(s => s.src)"
                                   ".concat([...document.styleSheets].map(s => s.href)).filter(Boolean)")
    assert len(loaded) == 9 and all(u.startswith((out / "jspsych").as_uri()) for u in loaded)

    raw = pd.read_csv(saved)
    tasks = raw["task"].tolist()
    assert tasks[:5] == ["consent", "browser_check", "fullscreen", "instructions", "preload"]
    assert tasks[5:9] == ["fixation", "flash", "response", "iti"] and tasks[-1] == "end"
    assert (raw["trial_index"] == range(len(raw))).all() and raw["time_elapsed"].is_monotonic_increasing
    assert set(raw["PROLIFIC_PID"]) == {"pp7"} and set(raw["SESSION_ID"]) == {"se9"}
    flashes = raw[raw["task"] == "flash"]
    assert list(flashes["stimulus"]) == [f"stimuli/{s}.png" for s in block["stimulus"]]
    assert flashes["flash_ms"].between(150, 600).all()  # setTimeout-timed; headless frames are coarse
    answered = raw[raw["task"] == "response"]
    assert (answered["rt"] > 0).all() and list(answered["response_image"]) == picks
    assert not set(jspsych_columns()) - set(raw.columns)  # what the test double writes, jsPsych has

    responses = read_responses(saved, trials)
    assert list(responses["participant"].unique()) == ["tester 1"]
    assert list(responses["trial"]) == list(range(10))
    assert list(responses["response"]) == picks
    assert list(responses["stimulus"]) == list(block["stimulus"])
    assert responses["correct"].sum() == 5
    metrics, tables = analyse(saved, trials, list(small_experiment.masks),
                              list(small_experiment.image_ids), 0.15, 50, 0)
    assert metrics["trials"] == 10 and metrics["excluded"] == []
    assert metrics["accuracy"] == 0.5
    assert tables["dprime"]["n_signal"].sum() == 10
    assert tables["dprime_participant"]["n_signal"].sum() == 10


def test_page_without_participant_or_set_says_how_to_open_it(small_experiment, tmp_path, browser):
    driver, _ = browser
    out = tmp_path / "human"
    write_experiment(small_experiment, out, fixation_ms=300, flash_ms=200, iti_ms=100)
    driver.get((out / "experiment.html").as_uri() + "?participant=x&set=toString")
    text = driver.find_element(By.ID, "setup-error").text
    assert "experiment.html?participant=ID&set=N" in text and "0 to 4" in text

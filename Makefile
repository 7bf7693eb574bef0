# Two entry points do everything on a fresh clone:
#   make repro   set up .venv, pull the study data, run the whole DVC pipeline
#   make test    set up .venv, pull the study data, run the test suite
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Stage commands in dvc.yaml call `python`: make it the project's.
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: venv data npm browser repro test lint report bench clean-venv exps

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# The study data lives in a DVC remote (see README, "Study data"). Stage outputs that the remote
# holds (someone ran `dvc push`) come along; those it lacks are simply rebuilt by `dvc repro`.
data: venv
	$(VENV)/bin/dvc pull --allow-missing

repro: data npm
	$(VENV)/bin/dvc repro

# The human experiment's page runs on jsPsych: the versions pinned in package-lock.json, which
# recognition_human copies into data/recognition/human/jspsych/ (docs/masking.md).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

npm: node_modules/.package-lock.json

# The recognition experiment page is tested in headless Chromium (tests/recognition/test_browser.py):
# install chromium + chromedriver when missing (Debian, as root, as in CI); else that test skips.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } || \
	  echo "warning: chromium/chromedriver not installed; the browser test will skip"

test: data npm browser
	$(VENV)/bin/python -m pytest

# The experiments table with the headline values (metrics/headline.json) and only the params and
# deps that differ between rows: plain `dvc exp show` also lists every one of the ~100 params and
# ~90 deps, which no terminal holds.
exps: venv
	$(VENV)/bin/dvc exp show --no-pager --only-changed --keep "^($$($(PY) -c 'from lib.headline import KEYS; print("|".join(KEYS))'))$$"

lint: venv
	$(VENV)/bin/ruff check lib stages tests

report: venv
	$(PY) -m lib.report_render report

clean-venv:
	rm -rf $(VENV)

# Put one model on the benchmark as a kept DVC experiment named after it, then print its
# leaderboard rows: make score MODEL=timm.convnext_tiny.fb_in1k-I (docs/benchmark.md).
.PHONY: score
score: data
	@test -n "$(MODEL)" || { echo "usage: make score MODEL=<model id> (e.g. effnetlite1-R)"; exit 2; }
	$(PY) -m stages.score $(MODEL)

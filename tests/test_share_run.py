"""Sharing a run the way a lab does (README, "Share a run"): a finished run is pushed to a DVC
remote, with its run cache; a fresh clone pulls it and has nothing to rebuild.

The smallest real state: a clone of the committed repository reduced to three images' study files
and the two human stages (estimate_human, human_pc), run for real, with a temporary local remote.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lib.paths import RAW_HUMAN_MAPS, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.data]

BIN = Path(sys.executable).parent
IMAGES = ["img10", "img32", "img95"]
STAGES = ["estimate_human", "human_pc"]


def _env() -> dict[str, str]:
    name, email = "share-run test", "share-run@example.invalid"
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1",
            "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email}


def _run(cwd: Path, *cmd: str) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(cmd)} in {cwd}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def _dvc(cwd: Path, *args: str) -> str:
    return _run(cwd, str(BIN / "dvc"), *args)


def _tiny_run(lab: Path) -> None:
    """Reduce the clone `lab` to three images and the human stages, and run them."""
    raw = lab / "data/raw"
    (raw / "human-maps").mkdir(parents=True)
    (raw / "images").mkdir()
    for image in IMAGES:
        sources = [*RAW_HUMAN_MAPS.glob(f"{image}_*.mat"),
                   *(RAW_HUMAN_MAPS.parent / "images").glob(f"image_r_{image.removeprefix('img')}.*")]
        assert len(sources) == 9, f"{image}: expected 8 maps and the image in data/raw"
        for src in sources:
            shutil.copy(src, raw / src.parent.name / src.name)
    _dvc(lab, "add", "-q", "data/raw")
    params = yaml.safe_load((lab / "params.yaml").read_text())
    params["data"]["images"] = IMAGES
    params["crossval"]["n_train"] = len(IMAGES) - 1  # the schema: fewer than the images
    (lab / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    spec = yaml.safe_load((lab / "dvc.yaml").read_text())
    spec["stages"] = {name: spec["stages"][name] for name in STAGES}
    (lab / "dvc.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    (lab / "dvc.lock").unlink(missing_ok=True)
    _dvc(lab, "repro", "-q")


def test_a_pushed_run_comes_back_whole_in_a_fresh_clone(tmp_path):
    lab, remote, fresh = tmp_path / "lab", tmp_path / "remote", tmp_path / "fresh"
    _run(tmp_path, "git", "clone", "-q", str(ROOT), str(lab))
    _tiny_run(lab)
    # What the README's "Share a run" says, in this order.
    _dvc(lab, "remote", "add", "-d", "share", str(remote))
    _run(lab, "git", "add", "-A")
    _run(lab, "git", "commit", "-q", "-m", "a finished run")
    _dvc(lab, "push", "--run-cache")

    _run(tmp_path, "git", "clone", "-q", str(lab), str(fresh))
    _dvc(fresh, "pull", "--run-cache")
    assert "Data and pipelines are up to date" in _dvc(fresh, "status")
    repro = _dvc(fresh, "repro")
    assert "Running stage" not in repro, repro
    for stage in STAGES:
        assert f"Stage '{stage}' didn't change, skipping" in repro
    # The pulled results are the pushed ones, byte for byte.
    for path in ("metrics/human_pc.json", "data/human/pc.zarr", "data/human/maps.zarr"):
        mine, theirs = lab / path, fresh / path
        files = sorted(p.relative_to(mine) for p in mine.rglob("*") if p.is_file()) if mine.is_dir() else [Path()]
        assert files
        for name in files:
            assert (theirs / name).read_bytes() == (mine / name).read_bytes(), f"{path}/{name}"

"""Nothing lost, nothing silently wrong (issue 16): a table of bad params, bad files, bad trials
and responses, unwritable folders and kills, each run through the stage wrapper as `dvc repro`
would, asserting exit status 2, one line naming the file or key, outputs byte-identical to before
and no leftovers.

The stages run in this process against a sandbox (a tmp folder standing in for the repository
root: lib.paths.ROOT and the stage modules' path names point into it), so a case costs
milliseconds rather than a Python start-up; only the kill cases use a subprocess, killed with
SIGKILL while it writes. The sandbox's outputs are built once from three study images on a small
grid by estimate_human and human_pc themselves.
"""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import yaml
from PIL import Image

import lib.atomic as atomic
from lib import paths
from lib.errors import InputError
from stages import estimate_human, human_pc
from stages._run import run

IMAGES = ["img10", "img32", "img95"]
pytestmark = pytest.mark.skipif(not any(paths.RAW_HUMAN_MAPS.glob("img10_*.mat")),
                                reason="study data not pulled (dvc pull)")


def _params() -> dict:
    params = yaml.safe_load(paths.PARAMS.read_text())
    params["data"]["images"] = list(IMAGES)
    params["data"]["grid"] = 16
    params["crossval"]["n_train"] = 2
    params["randomisation"]["sample_images"] = 2
    return params


class Sandbox:
    """A repository root in tmp: params.yaml, raw maps (links to the study's), data/ and metrics/."""

    def __init__(self, root: Path):
        self.root = root
        self.raw = root / "data" / "raw" / "human-maps"
        self.raw.mkdir(parents=True)
        for image in IMAGES:
            for mat in paths.RAW_HUMAN_MAPS.glob(f"{image}_*.mat"):
                (self.raw / mat.name).symlink_to(mat)
        (root / "metrics").mkdir()
        (root / "dvc.yaml").symlink_to(paths.ROOT / "dvc.yaml")  # names the stage to rerun
        self.params_file = root / "params.yaml"
        self.write_params(_params())

    def write_params(self, params: dict | str) -> None:
        text = params if isinstance(params, str) else yaml.safe_dump(params, sort_keys=False)
        self.params_file.write_text(text)

    def outputs(self) -> dict[str, str]:
        """sha256 of every file under data/ (raw inputs aside) and metrics/, and every name."""
        found = {}
        for folder in (self.root / "data", self.root / "metrics"):
            for path in sorted(folder.rglob("*")):
                rel = path.relative_to(self.root).as_posix()
                if rel.startswith("data/raw") or rel.startswith("data/inputs"):
                    continue
                found[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        return found


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    box = Sandbox(tmp_path_factory.mktemp("repo"))
    with pytest.MonkeyPatch.context() as mp:
        _point_at(mp, box)
        for stage in (estimate_human, human_pc):
            with _no_exit():
                run(stage.main)
    assert (box.root / "data" / "human" / "pc.zarr").is_dir()
    return box


class _no_exit:
    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is SystemExit:
            raise AssertionError(f"sandbox stage exited {value.code}")
        return False


def _point_at(mp: pytest.MonkeyPatch, box: Sandbox) -> None:
    root = box.root
    human = root / "data" / "human"
    mp.setattr(paths, "ROOT", root)
    mp.setattr(atomic, "OUTPUT_ROOTS", (root / "data", root / "metrics"))
    from lib.params import load_params

    for stage in (estimate_human, human_pc):
        mp.setattr(stage, "load_params", lambda: load_params(box.params_file))
        mp.setattr(stage, "HUMAN_MAPS", human / "maps.zarr")
        mp.setattr(stage, "RAW_HUMAN_MAPS", box.raw)
    mp.setattr(human_pc, "HUMAN_PC", human / "pc.zarr")
    mp.setattr(human_pc, "METRICS", root / "metrics")


@pytest.fixture
def box(sandbox, monkeypatch):
    _point_at(monkeypatch, sandbox)
    sandbox.write_params(_params())
    inputs = sandbox.root / "data" / "inputs"
    inputs.mkdir(exist_ok=True)
    yield sandbox
    for path in inputs.iterdir():
        path.unlink()


def _fails_cleanly(box: Sandbox, main, capsys, *names: str) -> str:
    """Run `main` as a stage: exit 2, one stderr line naming every one of `names`, outputs as
    before, no temporaries left."""
    before = box.outputs()
    with pytest.raises(SystemExit) as exit_info:
        run(main)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for name in names:
        assert name in err, err
    assert "Traceback" not in err and "weights_only=False" not in err
    assert box.outputs() == before
    assert not [p for p in box.root.rglob(f"*{atomic.MARK}*")]
    return err


# ---------------------------------------------------------------------------------------------
# Bad params: refused before any stage does work


def _set(params: dict, dotted: str, value) -> dict:
    *parents, last = dotted.split(".")
    node = params
    for part in parents:
        node = node[part]
    node[last] = value
    return params


BAD_PARAMS = [
    ("extract_attention.methods", [], "`extract_attention.methods`"),
    ("data.images", [], "`data.images`"),
    ("data.grid", 1, "`data.grid`"),
    ("data.grid", -4, "`data.grid`"),
    ("extract_attention.smooth_rule", "clen", "`extract_attention.smooth_rule`"),
    ("extract_attention.device", "gpu", "`extract_attention.device`"),
    ("extract_attention.sgbp.samples", 0, "`extract_attention.sgbp.samples`"),
    ("extract_attention.sgbp.noise_frac", -1, "`extract_attention.sgbp.noise_frac`"),
    ("extract_attention.cameras_resolutions", [], "`extract_attention.cameras_resolutions`"),
    ("extract_attention.batch_size.cpu", 0, "`extract_attention.batch_size.cpu`"),
    ("data.human_pc", "dprime", "`data.human_pc`"),
    ("smoothing.max_sigma", 10**6, "`smoothing.max_sigma`"),
    ("smoothing.sigma_stp", 2, "did you mean `smoothing.sigma_step`"),
    ("smoothing.sigma_step", 7, "`smoothing.sigma_step` 7 does not divide"),
    ("crossval.n_train", 3, "`crossval.n_train`"),
    ("recognition_human.mask_style", "soft", "`recognition_human.mask_style`"),
]


@pytest.mark.parametrize("key, value, named", BAD_PARAMS, ids=[f"{k}={v!r}" for k, v, _ in BAD_PARAMS])
def test_bad_params_stop_every_stage_before_work(box, capsys, key, value, named):
    box.write_params(_set(_params(), key, value))
    _fails_cleanly(box, estimate_human.main, capsys, "params.yaml", named)


def test_params_file_that_is_not_yaml(box, capsys):
    box.write_params("data:\n  images: [img10\n  grid: 16\n")
    _fails_cleanly(box, human_pc.main, capsys, "params.yaml", "not valid YAML")


# ---------------------------------------------------------------------------------------------
# Bad trial files, responses, labels, maps, images


def _trial_params(box: Sandbox, path: Path) -> None:
    box.write_params(_set(_params(), "estimate_human.sources.patch", str(path)))


@pytest.mark.parametrize("content, named", [
    (b"image,participant,x,y,rating\nimg10,p\xff1,10,10,2\n", "line 2: not UTF-8"),
    (b"", "is empty"),
    (b"image,participant,x,y,rating\nimg10,p01,10,10\n", "line 2: 4 fields, the header has 5"),
    # A blank line before the bad row: the reported line is the file's, not pandas' row count.
    (b"image,participant,x,y,rating\nimg10,p01,10,10,2\n\nimg10,p01,10,10,nine\n", "(line 4)"),
], ids=["undecodable", "empty", "ragged", "line-after-blank"])
def test_bad_trial_files_are_named_with_their_line(box, capsys, content, named):
    path = box.root / "data" / "inputs" / "patch.csv"
    path.write_bytes(content)
    _trial_params(box, path)
    _fails_cleanly(box, estimate_human.main, capsys, str(path), named)


def test_complex_map_is_refused_not_truncated(box, capsys, monkeypatch):
    raw = box.root / "data" / "inputs"
    for link in box.raw.iterdir():
        (raw / link.name).symlink_to(link.resolve())
    bad = raw / "img32_discr.mat"
    values = scipy.io.loadmat(paths.RAW_HUMAN_MAPS / "img32_discr.mat")["map"]
    bad.unlink()
    scipy.io.savemat(bad, {"map": values * (1 + 1j)})
    monkeypatch.setattr(estimate_human, "RAW_HUMAN_MAPS", raw)
    _fails_cleanly(box, estimate_human.main, capsys, "img32_discr.mat", "complex")


def test_a_map_with_nan_is_refused(box, capsys, monkeypatch):
    raw = box.root / "data" / "inputs"
    for link in box.raw.iterdir():
        (raw / link.name).symlink_to(link.resolve())
    bad = raw / "img95_freeFIX.mat"
    values = scipy.io.loadmat(paths.RAW_HUMAN_MAPS / "img95_freeFIX.mat")["map"].astype(float)
    values[3, 4] = np.nan
    bad.unlink()
    scipy.io.savemat(bad, {"map": values})
    monkeypatch.setattr(estimate_human, "RAW_HUMAN_MAPS", raw)
    _fails_cleanly(box, estimate_human.main, capsys, "img95_freeFIX.mat", "NaN")


def test_image_of_another_size_is_refused_not_stretched(box, capsys):
    from lib.images import read_image

    path = box.root / "data" / "inputs" / "image_r_10.jpg"
    Image.fromarray(np.zeros((300, 640, 3), dtype=np.uint8)).save(path)
    _fails_cleanly(box, lambda: read_image(path, 405), capsys, str(path), "640x300", "405x405")


def test_responses_file_with_a_ragged_row(box, capsys):
    import pandas as pd

    from lib.recognition.analysis import read_responses

    path = box.root / "data" / "inputs" / "responses.csv"
    path.write_text("participant,set,trial,stimulus,response\n\np1,0,0,s1.png,cat\np1,0,1\n")
    _fails_cleanly(box, lambda: read_responses(path, pd.DataFrame()), capsys, str(path), "line 4")


def test_labels_file_that_is_not_text(box, capsys):
    from lib.recognition.labels import load_labels

    path = box.root / "data" / "inputs" / "labels.csv"
    path.write_bytes(b"image,labels\nimg10,cat\n\x89PNG\r\n")
    _fails_cleanly(box, lambda: load_labels(path, IMAGES), capsys, str(path), "line 3")


def test_corrupt_weights_never_suggest_weights_only_false(box, capsys):
    import torch

    from lib.attention.models.weights import _read_state_dict

    path = box.root / "data" / "inputs" / "alexnet-owt-7be5be79.pth"
    torch.save({"w": torch.zeros(4)}, path)
    path.write_bytes(path.read_bytes()[:200])
    err = _fails_cleanly(box, lambda: _read_state_dict(path, "https://download.pytorch.org/models/x"),
                         capsys, str(path), "7be5be79", "download it again")
    assert "weights_only" not in err


# ---------------------------------------------------------------------------------------------
# Damaged stores, NaN metrics, unwritable folders


def test_missing_chunk_names_the_store_and_the_stage_to_rerun(box, capsys):
    store = box.root / "data" / "human" / "maps.zarr"
    chunk = next(p for p in sorted((store / "maps" / "c").rglob("*")) if p.is_file())  # Zarr 3 chunk keys
    saved = chunk.read_bytes()
    chunk.unlink()
    try:
        _fails_cleanly(box, human_pc.main, capsys, str(store), "`maps`", "dvc repro estimate_human")
    finally:
        chunk.write_bytes(saved)


def test_a_nan_metric_fails_the_stage_and_writes_none_of_its_outputs(box, capsys):
    import pandas as pd

    from lib.compare.tables import write_outputs

    table = box.root / "data" / "human" / "table.csv"
    metrics = box.root / "metrics" / "human_pc.json"

    def main():
        write_outputs({table: pd.DataFrame({"r": [0.5]})}, {metrics: {"pc": {"r": float("nan")}}})

    _fails_cleanly(box, main, capsys, "human_pc.json", "`pc.r`")
    assert not table.exists()


@pytest.mark.parametrize("code", [errno.EACCES, errno.ENOSPC], ids=["read-only", "disk-full"])
def test_unwritable_output_folder_keeps_every_previous_output(box, capsys, monkeypatch, code):
    # Simulated: the tests may run as root, for whom a read-only folder is writable.
    real = Path.write_text

    def refuse(self, *args, **kwargs):
        if atomic.MARK in self.name and self.name.startswith("human_pc.json"):
            raise OSError(code, os.strerror(code), str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", refuse)
    _fails_cleanly(box, human_pc.main, capsys, "human_pc.json", os.strerror(code))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_read_only_metrics_folder(box, capsys):
    folder = box.root / "metrics"
    folder.chmod(0o555)
    try:
        _fails_cleanly(box, human_pc.main, capsys, "metrics", "Permission denied")
    finally:
        folder.chmod(0o755)


# ---------------------------------------------------------------------------------------------
# Kills: a subprocess killed with SIGKILL while writing; the next stage run recovers


_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    import lib.atomic as atomic
    from lib import paths
    root = Path({root!r})
    paths.ROOT = root
    real_apply = atomic._apply
    def slow_apply(moves):  # stop between the first and the second move
        real_apply(moves[:1]); print("moved", flush=True); time.sleep(60); real_apply(moves[1:])
    if {mid_commit!r}:
        atomic._apply = slow_apply
    with atomic.stage_outputs():
        for name in ("a.json", "b.json"):
            atomic.write_text(root / "metrics" / name, "new\\n")
        if not {mid_commit!r}:
            print("written", flush=True); time.sleep(60)
""")


def _killed_writer(box: Sandbox, mid_commit: bool) -> None:
    code = _WRITER.format(repo=str(Path(__file__).resolve().parents[1]), root=str(box.root),
                          mid_commit=mid_commit)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() in ("written", "moved")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


@pytest.mark.parametrize("mid_commit", [False, True], ids=["while-writing", "while-moving"])
def test_kill_9_then_next_run_leaves_one_consistent_set(box, mid_commit):
    metrics = box.root / "metrics"
    for name in ("a.json", "b.json"):
        (metrics / name).write_text("old\n")
    _killed_writer(box, mid_commit)
    assert list(box.root.rglob(f"*{atomic.MARK}*")), "the kill left nothing to recover"
    atomic.recover()
    contents = {(metrics / n).read_text() for n in ("a.json", "b.json")}
    # Killed before its commit: the old set stays; killed during it: the commit is finished.
    assert contents == ({"new\n"} if mid_commit else {"old\n"})
    assert not list(box.root.rglob(f"*{atomic.MARK}*"))
    for name in ("a.json", "b.json"):
        (metrics / name).unlink()


def test_live_process_temporaries_are_left_alone(box):
    own = box.root / "metrics" / f"x.json{atomic.MARK}{os.getpid()}-abcd"
    own.write_text("in progress")
    try:
        atomic.recover()
        assert own.exists()
    finally:
        own.unlink()


def test_two_processes_of_one_stage_never_share_a_temporary(box):
    target = box.root / "metrics" / "x.json"
    first, second = atomic._Transaction(), atomic._Transaction()
    assert first.temporary(target) != second.temporary(target)


def test_leftovers_are_ignored_by_git_and_dvc():
    root = Path(__file__).resolve().parents[1]
    names = ["data/compare/summary.csv.partial-123-abcd", "data/attention/x.zarr.partial-9-0old",
             f"{atomic.MARK}123-abcd.journal"]
    ignored = subprocess.run(["git", "check-ignore", *names], cwd=root, capture_output=True, text=True)
    assert ignored.stdout.split() == names
    assert "*.partial-*" in (root / ".dvcignore").read_text().split("\n")


def test_a_successful_stage_writes_the_same_bytes_again(box):
    before = box.outputs()
    time.sleep(0.01)
    run(human_pc.main)
    assert box.outputs() == before


def test_input_error_inside_a_lib_call_outside_a_stage_still_leaves_nothing(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("old")
    with pytest.raises(InputError):
        with atomic.writing(target) as tmp:
            tmp.write_text("new")
            raise InputError("bad")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["t.txt"]


_CONCURRENT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {repo!r})
    import numpy as np, xarray as xr
    from lib.store import write_dataset
    for k in range(8):
        value = {who} * 100 + k
        write_dataset(xr.Dataset({{"a": ("i", np.full(50, value)), "b": ("i", np.full(50, value))}}), {path!r})
""")


def test_two_runs_of_one_stage_at_once_leave_one_complete_store(tmp_path):
    from lib.store import read_dataset

    path = tmp_path / "s.zarr"
    repo = str(Path(__file__).resolve().parents[1])
    procs = [subprocess.Popen([sys.executable, "-c", _CONCURRENT.format(repo=repo, who=who, path=str(path))],
                              stderr=subprocess.PIPE, text=True) for who in (1, 2)]
    errors = [p.communicate()[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    ds = read_dataset(path)
    a, b = np.unique(ds["a"].values), np.unique(ds["b"].values)
    assert len(a) == 1 and a.tolist() == b.tolist() and a[0] % 100 == 7  # one run's last, whole
    assert [p.name for p in tmp_path.iterdir()] == ["s.zarr"]

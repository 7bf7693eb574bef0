"""The study's published human maps: reading, checking and bringing them to the analysis grid.

Each image has one MATLAB v5 file per measure (key `map`), named `img<N>_<suffix>.mat`. Raw-trial
estimation (lib.trials) produces maps of the same form and native size, so estimate_human treats
both alike; `build_human_maps` takes each measure from either source.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io

from lib.errors import InputError
from lib.maps import check_map
from lib.measures import MEASURE_FILES, NATIVE_SHAPES, PUBLISHED_PC_FILE
from lib.trials import PROCEDURE_OF_MEASURE, TrialSettings, estimate_maps, load_trials


@dataclass(frozen=True)
class LoadedMap:
    values: np.ndarray
    path: Path
    md5: str


def md5sum(path: Path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def map_file(folder: Path, image_id: str, suffix: str) -> Path:
    return Path(folder) / f"{image_id}_{suffix}.mat"


def load_mat_map(path: Path, shape: tuple[int, int] | None = None, key: str = "map") -> LoadedMap:
    """One checked map from a `.mat` file; InputError naming the file on any problem."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found (run `dvc pull` to fetch the study data)")
    try:
        contents = scipy.io.loadmat(path)
    except Exception as err:  # scipy raises ValueError/TypeError/OSError on damaged files
        raise InputError(f"{path}: not a readable MATLAB .mat file ({err})") from err
    if key not in contents:
        raise InputError(f"{path}: no `{key}` variable (has {sorted(k for k in contents if not k.startswith('__'))})")
    values = check_map(contents[key], str(path), shape)
    return LoadedMap(values=values, path=path, md5=md5sum(path))


def load_published_measure(folder: Path, image_ids: list[str], measure: str) -> tuple[np.ndarray, dict[str, str]]:
    """The published maps of one measure for `image_ids`, stacked (image, y, x) at native size,
    and the md5 of every source file keyed by file name."""
    suffix = PUBLISHED_PC_FILE if measure == "pc_published" else MEASURE_FILES[measure]
    loaded = [load_mat_map(map_file(folder, i, suffix), NATIVE_SHAPES[measure]) for i in image_ids]
    return np.stack([m.values for m in loaded]), {m.path.name: m.md5 for m in loaded}


def check_image_ids(folder: Path, image_ids: list[str]) -> None:
    """Every image id in params must have files; say which do not, before any work."""
    if not image_ids:
        raise InputError("params.yaml: `data.images` is empty")
    if len(set(image_ids)) != len(image_ids):
        raise InputError("params.yaml: `data.images` lists an image twice")
    missing = [i for i in image_ids if not any(Path(folder).glob(f"{i}_*.mat"))]
    if missing:
        raise InputError(f"{folder}: no map files for image ids {missing} listed in params.yaml")


def _trial_path(source: str, measure: str, root: Path) -> Path:
    path = Path(source)
    path = path if path.is_absolute() else Path(root) / path
    if not path.is_file():
        raise InputError(
            f"params.yaml: estimate_human.sources.{measure} = {source!r} is neither `published` "
            f"nor an existing trial file ({path} not found)"
        )
    return path


def build_human_maps(
    folder: Path,
    image_ids: list[str],
    measures: list[str],
    sources: dict[str, str],
    grid: int,
    trial_settings=None,
    root: Path | None = None,
):
    """The human maps Dataset: `maps` (measure, image, y, x) on the analysis grid, each measure's
    native maps as `native_<measure>` (image, y_<measure>, x_<measure>), `source` (measure) saying
    where each map came from (`published`, or `trials:<file>` as configured), and the md5 of every
    input file in the `provenance` attribute (trial files keyed `trials:<file>`).

    `sources[measure]` is `published` (the study's map files in `folder`) or the path of a raw-trial
    file (relative to `root`, default the repository root), estimated with lib.trials using
    `trial_settings` (lib.trials.TrialSettings; its defaults when None). All inputs are read and
    checked before anything is returned, so a bad file leaves nothing written."""
    import xarray as xr

    from lib.maps import resize_maps
    from lib.paths import ROOT

    root = ROOT if root is None else Path(root)
    if not image_ids:
        raise InputError("params.yaml: `data.images` is empty")
    unknown = set(measures) - set(MEASURE_FILES)
    if unknown:
        raise InputError(f"params.yaml: data.measures has unknown measures {sorted(unknown)}")
    if set(sources) != set(measures):
        raise InputError(
            f"params.yaml: estimate_human.sources must name each of {measures}, "
            f"got {sorted(sources)}"
        )
    bad = [m for m in measures if not isinstance(sources[m], str) or not sources[m].strip()]
    if bad:
        raise InputError(
            f"params.yaml: estimate_human.sources.{bad[0]} must be `published` or a file path"
        )
    if any(sources[m] == "published" for m in measures):
        check_image_ids(folder, image_ids)
    elif len(set(image_ids)) != len(image_ids):
        raise InputError("params.yaml: `data.images` lists an image twice")
    settings = TrialSettings() if trial_settings is None else trial_settings
    # Check every configured trial file before estimating anything: one bad file, nothing done.
    trial_sets = {}
    for measure in measures:
        source = sources[measure]
        key = (source, PROCEDURE_OF_MEASURE[measure])  # the fixation measures share one file
        if source != "published" and key not in trial_sets:
            path = _trial_path(source, measure, root)
            trial_sets[key] = load_trials(path, key[1], image_ids)
    grid_maps, native, provenance, origin = [], {}, {}, []
    for measure in measures:
        source = sources[measure]
        if source == "published":
            stack, checksums = load_published_measure(folder, image_ids, measure)
            provenance.update(checksums)
            origin.append("published")
        else:
            trials = trial_sets[(source, PROCEDURE_OF_MEASURE[measure])]
            stack = estimate_maps(trials, measure, image_ids, settings)
            for i, values in enumerate(stack):
                check_map(values, f"{trials.name}: estimated {measure} map of {image_ids[i]}",
                          NATIVE_SHAPES[measure])
            provenance[f"trials:{source}"] = trials.md5
            origin.append(f"trials:{source}")
        native[measure] = stack
        grid_maps.append(resize_maps(stack, grid))
    data_vars = {
        "maps": (("measure", "image", "y", "x"), np.stack(grid_maps)),
        "source": (("measure",), np.array(origin, dtype=str)),
    }
    for measure, stack in native.items():
        data_vars[f"native_{measure}"] = (("image", f"y_{measure}", f"x_{measure}"), stack)
    attrs = {"provenance": dict(sorted(provenance.items())), "grid": grid}
    if trial_sets:
        attrs["trial_settings"] = settings.as_params()
    return xr.Dataset(data_vars, coords={"measure": measures, "image": image_ids}, attrs=attrs)

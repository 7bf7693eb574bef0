"""Stage estimate_human: the six human measures on the analysis grid, native maps kept; each measure
from the study's published maps or, where params name a trial file, estimated from raw trials."""

from lib.human_maps import build_human_maps
from lib.params import get, load_params
from lib.paths import HUMAN_MAPS, RAW_HUMAN_MAPS
from lib.store import write_dataset
from lib.trials import TrialSettings
from stages._run import run


def main() -> None:
    params = load_params()
    ds = build_human_maps(
        RAW_HUMAN_MAPS,
        image_ids=get(params, "data.images", list),
        measures=get(params, "data.measures", list),
        sources=get(params, "estimate_human.sources", dict),
        grid=get(params, "data.grid", int),
        trial_settings=TrialSettings.from_params(get(params, "estimate_human.trials", dict)),
    )
    write_dataset(ds, HUMAN_MAPS)
    sources = dict(zip(ds["measure"].values.tolist(), ds["source"].values.tolist(), strict=True))
    print(f"wrote {HUMAN_MAPS}: {dict(ds.sizes)}; sources {sources}")


if __name__ == "__main__":
    run(main)

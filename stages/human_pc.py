"""Stage human_pc: PCA of the six human measures, the Human PC maps and their metrics."""

import json

from lib.atomic import write_json
from lib.human_maps import load_published_measure
from lib.human_pc import fit_human_pc, pc_dataset, summarise
from lib.maps import resize_maps
from lib.params import get, load_params
from lib.paths import HUMAN_MAPS, HUMAN_PC, METRICS, RAW_HUMAN_MAPS
from lib.store import read_dataset, write_dataset
from stages._run import run


def main() -> None:
    params = load_params()
    human = read_dataset(HUMAN_MAPS)
    measures = [str(m) for m in human["measure"].values]
    images = [str(i) for i in human["image"].values]
    maps = human["maps"].values
    fit = fit_human_pc(
        maps,
        measures,
        downweighted=get(params, "human_pc.fixation_measures", list),
        downweight=get(params, "human_pc.fixation_weight", float),
    )
    pc = fit.project(maps)
    published, _ = load_published_measure(RAW_HUMAN_MAPS, images, "pc_published")
    published = resize_maps(published, maps.shape[-1])
    write_dataset(pc_dataset(fit, pc, published, images), HUMAN_PC)
    metrics = summarise(fit, maps, pc, published)
    write_json(METRICS / "human_pc.json", metrics)
    print(json.dumps(metrics["published_pc_r"]))


if __name__ == "__main__":
    run(main)

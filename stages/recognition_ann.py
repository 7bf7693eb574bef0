"""Stage recognition_ann: inverse ranks of ANN predictions for images under correct and incorrect
masks from the human maps and the best- and worst-fitting ANN map types."""

import json

import pandas as pd

from lib.atomic import write_json, write_text
from lib.attention.models import load_model, preprocess
from lib.human_pc import load_human_targets
from lib.images import read_images
from lib.params import get, load_params
from lib.paths import (
    FIT_SMOOTHING,
    HUMAN_MAPS,
    HUMAN_PC,
    METRICS,
    RECOGNITION_ANN_TABLE,
    ROOT,
    attention_store,
)
from lib.recognition.ann import TABLE_COLUMNS, mask_sources, recognise, summarise, trained_models
from lib.recognition.masks import area_resize, to_uint8
from lib.recognition.sources import load_fit, native_human_maps
from lib.store import read_dataset
from stages._run import run


def main() -> None:
    params = load_params()
    ids = get(params, "data.images", list)
    pc_id = get(params, "data.human_pc", str)
    size = get(params, "recognition_ann.size", int)
    models = get(params, "extract_attention.models", list)
    trained = trained_models(models)
    if not trained:
        # Nothing to ask: random networks recognise nothing. Written as a status, not an error,
        # so a run with only controls still completes.
        return _write_status("extract_attention.models lists no trained network; recognition_ann "
                             "needs one (random-weight networks recognise nothing)")
    stores = {m: read_dataset(attention_store(m)) for m in models}
    human = load_human_targets(HUMAN_MAPS, HUMAN_PC, pc_id)
    # The six measures' masks from their native 250/251 px maps, as the study made them.
    native = native_human_maps(read_dataset(HUMAN_MAPS), ids)
    masks = mask_sources(human, stores, load_fit(FIT_SMOOTHING), ids,
                         get(params, "data.grid", int), size, pc_id, native=native)
    images = to_uint8(area_resize(read_images(ids), size, channels_last=True))
    tables = []
    for model_id in trained:
        # The input normalisation and weights extraction used: one setting for every stage.
        loaded = load_model(model_id, weights_dir=ROOT / get(params, "extract_attention.weights_dir", str),
                            device=get(params, "recognition_ann.device", str),
                            normalisation=get(params, "extract_attention.normalisation", str))
        table = recognise(loaded.model, lambda x, lm=loaded: preprocess(x, lm), images, masks,
                          ids, get(params, "recognition_ann.batch_size", int), desc=f"recognition_ann {model_id}",
                          forward=get(params, "recognition_ann.forward", str))
        tables.append(table.assign(model=model_id))
    table = pd.concat(tables, ignore_index=True)[TABLE_COLUMNS]
    _write(table, summarise(table))


def _write_status(status: str) -> None:
    _write(pd.DataFrame(columns=TABLE_COLUMNS), {"status": status})
    print(status)


def _write(table: pd.DataFrame, metrics: dict) -> None:
    write_text(RECOGNITION_ANN_TABLE, table.to_csv(index=False, float_format="%.6f"))
    write_json(METRICS / "recognition_ann.json", metrics)
    print(json.dumps(metrics))


if __name__ == "__main__":
    run(main)

"""Stage recognition_ann: inverse ranks of ANN predictions for images under correct and incorrect
masks from the human maps and the best- and worst-fitting ANN map types."""

import json

import pandas as pd

from lib.attention.models import load_model, preprocess
from lib.errors import InputError
from lib.human_pc import load_human_targets
from lib.images import read_images
from lib.params import get, load_params
from lib.paths import (
    FIT_SMOOTHING,
    HUMAN_MAPS,
    HUMAN_PC,
    METRICS,
    RECOGNITION_ANN_TABLE,
    attention_store,
)
from lib.recognition.ann import TABLE_COLUMNS, mask_sources, recognise, summarise, trained_models
from lib.recognition.masks import area_resize, to_uint8
from lib.recognition.sources import load_fit
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
        raise InputError("params.yaml: extract_attention.models has no model with trained weights")
    stores = {m: read_dataset(attention_store(m)) for m in models}
    human = load_human_targets(HUMAN_MAPS, HUMAN_PC, pc_id)
    masks = mask_sources(human, stores, load_fit(FIT_SMOOTHING), ids,
                         get(params, "data.grid", int), size, pc_id)
    images = to_uint8(area_resize(read_images(ids), size, channels_last=True))
    tables = []
    for model_id in trained:
        loaded = load_model(model_id, device=get(params, "recognition_ann.device", str))
        table = recognise(loaded.model, lambda x, lm=loaded: preprocess(x, lm), images, masks,
                          ids, get(params, "recognition_ann.batch_size", int))
        tables.append(table.assign(model=model_id))
    table = pd.concat(tables, ignore_index=True)[TABLE_COLUMNS]
    RECOGNITION_ANN_TABLE.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(RECOGNITION_ANN_TABLE, index=False, float_format="%.6f")
    METRICS.mkdir(exist_ok=True)
    metrics = summarise(table)
    (METRICS / "recognition_ann.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics))


if __name__ == "__main__":
    run(main)

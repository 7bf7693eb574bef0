"""Classic non-ANN reference maps: GBVS, BMS and a centre-bias map (METHOD.md, Non-ANN references).

Every function takes one RGB uint8 image (H, W, 3) and returns a float64 map of `out_size`
(default: the image's H x W), min-max scaled to [0, 1], so it is non-negative and finite.
Absolute scale carries no meaning here: every consumer compares maps by Pearson r.

- `gbvs`: Graph-Based Visual Saliency (Harel, Koch & Perona, NIPS 2006), written from the paper
  and the defaults of the authors' MATLAB release (`makeGBVSParams`: 32-node-wide graph, DKL
  colour + intensity + orientation channels at pyramid levels 2-4, sigma 0.15 of the map width in
  the activation graph, normalisation by raising to the power 1.5, 4-node border attenuation,
  final blur of 0.02 of the map width).
- `bms`: Boolean Map Saliency (Zhang & Sclaroff, ICCV 2013; TPAMI 2016) with the settings the
  authors' release documents for eye-fixation prediction (image scaled to 400 px, whitened CIE Lab,
  threshold step 8, dilation widths 3 and 11, L2-normalised attention maps, Gaussian blur 20 px).
- `center_bias`: a narrow isotropic Gaussian at the image centre. fit_smoothing blurs every raw map
  with a fitted sigma; blurring this map gives an isotropic centre Gaussian whose width is the
  fitted one, so the centre-bias baseline gets its best width exactly as every ANN map type does.

One method per module (`graph_based`, `boolean_map`, `centre_gaussian`), what they share in
`_common`, and the store of all three in `dataset`. Where the published code departs from its
paper or depends on its platform, the choice made here is stated beside the code.
Nothing is random: BMS's thresholds are a fixed grid.
"""

from lib.attention.baselines.boolean_map import BMS_DEFAULTS, bms, bms_attention
from lib.attention.baselines.centre_gaussian import CENTER_BIAS_DEFAULTS, center_bias
from lib.attention.baselines.dataset import METHODS, MODEL_ID, OPTION_DEFAULTS, baseline_dataset, baseline_store
from lib.attention.baselines.graph_based import GBVS_DEFAULTS, gbvs, gbvs_activation, stationary_distribution

__all__ = [
    "baseline_store",
    "BMS_DEFAULTS",
    "CENTER_BIAS_DEFAULTS",
    "GBVS_DEFAULTS",
    "METHODS",
    "MODEL_ID",
    "OPTION_DEFAULTS",
    "baseline_dataset",
    "bms",
    "bms_attention",
    "center_bias",
    "gbvs",
    "gbvs_activation",
    "stationary_distribution",
]

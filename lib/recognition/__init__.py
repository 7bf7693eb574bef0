"""The masking experiments (METHOD.md, recognition_ann and recognition_human): masks from human
and ANN maps, ANN recognition of masked images, and the speeded human recognition experiment
(design, stimuli, jsPsych page, analysis of its responses)."""

from lib.recognition.analysis import analyse, participant_dprime_table, read_responses
from lib.recognition.ann import inverse_rank, mask_sources, recognise, summarise, trained_models
from lib.recognition.design import DesignSpec, make_design
from lib.recognition.human import build_experiment, design_summary, write_experiment
from lib.recognition.labels import conflicts, load_labels
from lib.recognition.masks import ann_mask, area_resize, graded_half_mask, half_mask, human_mask

__all__ = [
    "DesignSpec", "analyse", "ann_mask", "area_resize", "build_experiment", "conflicts",
    "design_summary", "graded_half_mask", "half_mask", "human_mask", "inverse_rank", "load_labels",
    "make_design", "mask_sources", "participant_dprime_table", "read_responses", "recognise",
    "summarise", "trained_models", "write_experiment",
]

"""The estimators' bandwidths and corrections, read from `params.yaml: estimate_human.trials`.

The study did not report them (METHOD.md, estimate_human); the defaults here equal the ones in
params.yaml (a test keeps the two in step) and were chosen as follows, all in pixels of the 405x405
image:
- patch.sigma_px 37: the patch radius, 442/2430 * 405 / 2 = 36.8 px, as METHOD.md suggests.
- dprime.sigma_px 14: two probe steps (probes are 7 px apart); the published d' maps' narrowest
  peaks are about 26-35 px wide (Gaussian sigma at the peak), so the smoothing stays below that.
- dprime.correction `loglinear` (Hautus 1995): every rate is (k + 0.5) / (n + 1), so rates of 0 and
  1 stay finite and d' is less biased than with the 1/(2n) rule, offered as `half` (Macmillan &
  Kaplan 1985: 0 -> 0.5/n, 1 -> 1 - 0.5/n).
- spatial.sigma_* 16 and fixations.sigma_* 16: the narrowest peaks of the published chain KDE and
  fixation maps are 15-20 px wide (Gaussian sigma from the curvature at the peak), an upper bound on
  the kernel the study used.
- spatial.iteration 20: the final iteration of the study's 20-iteration chains.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from lib.errors import InputError

DPRIME_CORRECTIONS = ("loglinear", "half")


@dataclass(frozen=True)
class TrialSettings:
    patch_sigma_px: float = 37.0
    dprime_correction: str = "loglinear"
    dprime_sigma_px: float = 14.0
    spatial_iteration: int = 20
    spatial_sigma_x_px: float = 16.0
    spatial_sigma_y_px: float = 16.0
    fixation_sigma_x_px: float = 16.0
    fixation_sigma_y_px: float = 16.0

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if name.endswith("_px") and not (isinstance(value, int | float) and value > 0):
                raise InputError(
                    f"estimate_human.trials: {name} must be a positive number, got {value!r}"
                )
        if self.dprime_correction not in DPRIME_CORRECTIONS:
            raise InputError(
                "params.yaml: estimate_human.trials.dprime.correction = "
                f"{self.dprime_correction!r}, expected one of {list(DPRIME_CORRECTIONS)}"
            )
        if not isinstance(self.spatial_iteration, int) or self.spatial_iteration < 1:
            raise InputError(
                "params.yaml: estimate_human.trials.spatial.iteration must be a positive integer, "
                f"got {self.spatial_iteration!r}"
            )

    @classmethod
    def from_params(cls, section: dict[str, Any]) -> TrialSettings:
        """Settings from the `estimate_human.trials` mapping (nested by procedure, as in
        params.yaml); every key must be present, unknown keys are an error (a typo would otherwise
        silently keep a default)."""
        layout = {
            "patch": {"sigma_px": "patch_sigma_px"},
            "dprime": {"correction": "dprime_correction", "sigma_px": "dprime_sigma_px"},
            "spatial": {
                "iteration": "spatial_iteration",
                "sigma_x_px": "spatial_sigma_x_px",
                "sigma_y_px": "spatial_sigma_y_px",
            },
            "fixations": {"sigma_x_px": "fixation_sigma_x_px", "sigma_y_px": "fixation_sigma_y_px"},
        }
        if not isinstance(section, dict):
            raise InputError("params.yaml: estimate_human.trials must be a mapping")
        extra = set(section) - set(layout)
        if extra:
            raise InputError(f"params.yaml: estimate_human.trials has unknown keys {sorted(extra)}")
        values: dict[str, Any] = {}
        for group, keys in layout.items():
            sub = section.get(group)
            if not isinstance(sub, dict):
                raise InputError(f"params.yaml: missing mapping `estimate_human.trials.{group}`")
            extra = set(sub) - set(keys)
            if extra:
                raise InputError(
                    f"params.yaml: estimate_human.trials.{group} has unknown keys {sorted(extra)}"
                )
            for key, field in keys.items():
                if key not in sub:
                    raise InputError(
                        f"params.yaml: missing key `estimate_human.trials.{group}.{key}`"
                    )
                value = sub[key]
                if isinstance(value, bool):
                    raise InputError(
                        f"params.yaml: `estimate_human.trials.{group}.{key}` must be a number"
                    )
                values[field] = (
                    float(value) if key.endswith("_px") and isinstance(value, int) else value
                )
        return cls(**values)

    def as_params(self) -> dict[str, Any]:
        """The settings in params.yaml's nested layout (what `from_params` reads)."""
        return {
            "patch": {"sigma_px": self.patch_sigma_px},
            "dprime": {"correction": self.dprime_correction, "sigma_px": self.dprime_sigma_px},
            "spatial": {
                "iteration": self.spatial_iteration,
                "sigma_x_px": self.spatial_sigma_x_px,
                "sigma_y_px": self.spatial_sigma_y_px,
            },
            "fixations": {
                "sigma_x_px": self.fixation_sigma_x_px,
                "sigma_y_px": self.fixation_sigma_y_px,
            },
        }

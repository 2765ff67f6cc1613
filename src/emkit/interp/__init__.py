"""Where EM lives, the primitives: hooks named after what they touch, activation capture, directions
(mean-diff, LoRA B, in-context, cosines), interventions (steering, ablation), blocking and monitoring during
training. Light to import (no judge, no report). Running them on a finished run is :mod:`emkit.analyses`'s.
"""

from emkit.interp.capture import Text, capture, encode
from emkit.interp.directions import (
    CosineMatrix,
    Direction,
    Thresholds,
    balance,
    compare,
    cosine,
    mean_diff,
    null_band,
    random_like,
    split_by_judgment,
)
from emkit.interp.hooks import add_to_resid, decoder_layers, project_out, resid_post
from emkit.interp.lora import LoraModule, b_direction, read_adapter, trajectories
from emkit.interp.steer import Intervention, intervene, steering_grid

__all__ = ["CosineMatrix", "Direction", "Intervention", "LoraModule", "Text", "Thresholds", "add_to_resid",
           "b_direction", "balance", "capture", "compare", "cosine", "decoder_layers", "encode", "intervene",
           "mean_diff", "null_band", "project_out", "random_like", "read_adapter", "resid_post",
           "split_by_judgment", "steering_grid", "trajectories"]

"""Bach-style reharmonization, split along its seams.

- :mod:`.network`: the model (DeepBach's idea, whole-sequence, plus a one-step draft);
- :mod:`.checkpoint`: self-describing weights files and loading;
- :mod:`.rules`: every sampling-time rule as named, switchable data;
- :mod:`.sampler`: the left-to-right draft, refinement and repair passes;
- :mod:`.api`: the public calls :func:`harmonize` and :func:`harmonize_melody`.
"""

from composer_app.ml import GenerationCancelled

from .api import CONTEXT_STEPS, MAX_VARIATIONS, frame_shift, harmonize, harmonize_melody
from .checkpoint import (
    FORMAT_VERSION,
    default_model_path,
    load_model,
    model_from_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from .network import UNKNOWN_KEY, Draft, Harmonizer, HarmonizerConfig, key_class
from .rules import NETWORK_ALONE, STYLE_RULES, Rules, voice_allowed
from .sampler import SamplingPlan, Schedule, sample

__all__ = [
    "harmonize", "harmonize_melody", "GenerationCancelled", "HarmonizerConfig", "Harmonizer",
    "Draft", "load_model", "save_checkpoint", "read_checkpoint", "model_from_checkpoint",
    "FORMAT_VERSION", "default_model_path", "Schedule", "Rules", "NETWORK_ALONE",
    "STYLE_RULES", "SamplingPlan", "sample", "voice_allowed", "key_class", "UNKNOWN_KEY",
    "CONTEXT_STEPS", "MAX_VARIATIONS", "frame_shift",
]

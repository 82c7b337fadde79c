"""Melody continuer: an LSTM language model over a sixteenth-note grid.

Tokens, one per sixteenth step: ``REST``, ``HOLD`` (the sounding note goes on) or a
pitch (a new onset). Every step also carries its position in the bar (and the bar's
place in an 8-bar phrase), the meter and the mode, so the model knows where the bar
lines are; a continuation is exactly a number of
grid steps, so it ends on a bar line by construction.

Melodies are key-normalised: the sketch is transposed to the key signature of C major /
A minor (mode kept as a condition), continued, and the new notes are transposed back
(chosen by measurement against training on all transpositions; see
``models/continuer.json``).

Sampling primes a whole-sequence ``nn.LSTM`` on the sketch, then steps ``LSTMCell``s that
share its weights with the state carried, all variations as one batch, under a seeded
``torch.Generator``. Public call: :func:`continue_melody`.

A package along the model's seams: :mod:`.tokens` (the vocabulary and the grid it is
read from), :mod:`.network`, :mod:`.checkpoint`, :mod:`.sampler`, :mod:`.api` (the
public call); the rerank rules are :mod:`composer_app.ml.motifs`. Everything is
re-exported here but the modules' private helpers.
"""


from __future__ import annotations

from composer_app.music import UserError  # noqa: F401  (as the one module had it)

from .api import (  # noqa: F401
    continue_melody,
    melody_track,
    metric_positions,
    octave_fit,
)
from .checkpoint import (  # noqa: F401
    KIND,
    checkpoint_dict,
    default_checkpoint,
    load_continuer,
    model_from_checkpoint,
    read_checkpoint,
    sampling,
    vocabulary,
)
from .network import (  # noqa: F401
    ContinuerConfig,
    ContinuerModel,
)
from .sampler import (  # noqa: F401
    Continuer,
)
from .tokens import (  # noqa: F401
    BOS,
    DEFAULT_STYLE,
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_P,
    FORMAT,
    FORMAT_VERSION,
    HOLD,
    MAX_BARS,
    MAX_PITCH,
    MAX_POS,
    METERS,
    MIN_PITCH,
    N_PITCH,
    N_SPECIAL,
    OTHER_METER,
    PHRASE_BARS,
    REST,
    REST_LOGIT_BIAS,
    SOURCE_STYLE,
    STEP,
    STYLE_GUIDANCE,
    STYLES,
    VOCAB,
    ContinuationCancelled,
    bar_steps,
    decode_tokens,
    encode_melody,
    key_shift,
    last_pitches,
    meter_id,
    metric_position,
    pitch_token,
    style_id,
    token_pitch,
)

__all__ = [
    "continue_melody",
    "ContinuationCancelled",
    "ContinuerConfig",
    "ContinuerModel",
    "Continuer",
    "load_continuer",
    "encode_melody",
    "decode_tokens",
    "default_checkpoint",
    "STYLES",
]

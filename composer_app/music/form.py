"""Song forms as text (issue 15): which strings are forms, and the named presets.

The one owner of what a form is, with no torch and no Qt, so the CLI checks a form
before it reads anything and the editor's Song form dialog checks it as it is typed;
``ml/song.py`` checks it again with the same call before it generates.
"""

from __future__ import annotations

import re

from .errors import UserError
from .score import Score

__all__ = ["FORMS", "MAX_SECTIONS", "MAX_SECTION_BARS", "MAX_SONG_BARS", "check_form",
           "check_sketch", "parse_related"]

MAX_SECTIONS = 26
MAX_SECTION_BARS = 64  # the continuer's MAX_BARS (ml/song.py checks they agree)
MAX_SONG_BARS = 512
# Named forms: verse, chorus, second verse, chorus, bridge, chorus; 32-bar song form;
# verse-chorus alternation; the same with an intro and an outro.
FORMS = {"verse-chorus": "ABCBDB", "AABA": "AABA", "ABAB": "ABAB",
         "intro-verse-chorus-outro": "IABABO"}


def check_form(form: str, section_bars: int) -> str:
    """The form as upper-case letters; :class:`UserError` for what cannot be a form."""
    if not isinstance(form, str) or not form.strip():
        raise UserError("the form is empty: give letters such as ABCBDB or AABA")
    text = FORMS.get(form.strip(), form.strip())
    if not re.fullmatch(r"[A-Za-z]+", text):
        raise UserError(f"form {form!r}: a form is a string of letters (A-Z), such as ABCBDB")
    text = text.upper()
    if len(text) > MAX_SECTIONS:
        raise UserError(f"form {form!r}: at most {MAX_SECTIONS} sections, not {len(text)}")
    if isinstance(section_bars, bool) or not isinstance(section_bars, int) \
            or not 1 <= section_bars <= MAX_SECTION_BARS:
        raise UserError(f"a section is 1 to {MAX_SECTION_BARS} bars, not {section_bars}")
    if len(text) * section_bars > MAX_SONG_BARS:
        raise UserError(f"{len(text)} sections of {section_bars} bars is "
                        f"{len(text) * section_bars} bars; a song is at most {MAX_SONG_BARS}")
    return text


def parse_related(text: str, form: str | None = None) -> dict[str, str]:
    """``"C=A, E=B"`` as ``{"C": "A", "E": "B"}`` (a letter seeded by its relative).

    With ``form`` (checked letters), both letters must be in it and the relative first.
    """
    related: dict[str, str] = {}
    for pair in (text or "").split(","):
        if not pair.strip():
            continue
        letter, sep, relative = (s.strip().upper() for s in pair.strip().partition("="))
        if not sep or len(letter) != 1 or len(relative) != 1 \
                or not (letter.isalpha() and relative.isalpha()):
            raise UserError(f"related {pair.strip()!r}: give LETTER=RELATIVE, e.g. C=A")
        related[letter] = relative
    if form is not None:
        for letter, relative in related.items():
            if letter not in form or relative not in form:
                raise UserError(f"related {letter}={relative}: both letters must be in the "
                                f"form {form}")
            if form.index(relative) >= form.index(letter):
                raise UserError(f"related {letter}={relative}: the relative must come first")
    return related


def check_sketch(score: Score, letters: str, section_bars: int) -> None:
    """:class:`UserError` unless ``score`` can be the first section of a song of checked
    ``letters``: some notes, one meter, no longer than a section."""
    if not score.notes:
        raise UserError("the sketch is empty: draw or load a few notes to be section "
                        f"{letters[0]}")
    if len(score.time_signatures) > 1:
        raise UserError("song form needs one meter for the whole piece")
    bar_ticks = score.time_signatures[0].bar_ticks if score.time_signatures else 1920
    if score.end_tick > section_bars * bar_ticks:
        raise UserError(f"the sketch is {score.length_bars} bars, longer than a section of "
                        f"{section_bars}; make sections of {score.length_bars} bars or more")

"""What Continue, Reharmonize, Song form and Regenerate section ask of the models, and
what their answers would change.

Pure functions over a :class:`Document` (no widgets): a *request* checks the selection
and builds the model's input; a *proposal* turns one model result into the edit that
accepting it makes (notes to add, notes to remove, voices to create), computed against
the document as it is now, so edits made while the model ran are respected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from composer_app.music import (
    VOICE_NAMES,
    KeySignature,
    Note,
    Score,
    Track,
    UserError,
)
from composer_app.music.gm import free_melodic_channel
from composer_app.music.theory import Key

from .document import Document

LOWER_VOICES = VOICE_NAMES[1:]  # Alto, Tenor, Bass


@dataclass
class Request:
    """The model input for one action: ``score`` plus the ml call's ``params``."""

    kind: str  # "harmonize", "continue", "section" (variations) or "song" (applied at once)
    score: Score
    params: dict
    span: tuple[int, int]  # ticks the result fills (audition starts at span[0])
    context: dict = field(default_factory=dict)


@dataclass
class Proposal:
    """The edit accepting one variation makes."""

    kind: str
    add: list[Note]  # track indices as they will be once ``new_tracks`` are appended
    remove_ids: list[int]
    new_tracks: list[Track]
    span: tuple[int, int]
    clip_notes: list[Note]  # what a drag to a DAW carries (the variation in its span)

    @property
    def text(self) -> str:
        return {"harmonize": "Accept harmonization", "section": "Regenerate section",
                "song": "Song form"}.get(self.kind, "Accept continuation")

    def applied_to(self, doc: Document) -> Score:
        """The whole piece as it would be after accepting (for auditioning)."""
        out = doc.score()
        gone = {doc.notes[i] for i in self.remove_ids if i in doc.notes}
        out.tracks = out.tracks + [Track(t.name, t.channel, t.program) for t in self.new_tracks]
        out.notes = [n for n in out.notes if n not in gone] + list(self.add)
        out.sort()
        return out

    def clip(self, doc: Document) -> Score:
        """The variation alone, starting at the bar line before it (as DAWs expect)."""
        out = doc.base.copy()
        out.tracks = out.tracks + [Track(t.name, t.channel, t.program) for t in self.new_tracks]
        notes = self.clip_notes or self.add
        first = min((n.start for n in notes), default=0)
        shift = doc.base.bar_start(doc.base.bar_of(first))
        out.notes = [n.moved(start=n.start - shift, locked=False) for n in notes]
        out.sort()
        return out


def _selected(doc: Document, ids) -> list[Note]:
    return sorted((doc.notes[i] for i in ids if i in doc.notes), key=lambda n: (n.start, -n.pitch))


def _bar_label(doc: Document, tick: int) -> str:
    bar, beat, _ = doc.base.tick_to_bar_beat(tick)
    return f"bar {bar}, beat {beat}"


def detected_key(doc: Document, ids) -> Key:
    """The key Reharmonize would use with "Auto", asked of the rule's one owner
    (:meth:`Score.key_in_force`) with the melody the model will be given: the selected
    melody, else the selected notes, else all notes."""
    notes = _selected(doc, ids) or sorted(doc.notes.values(), key=lambda n: n.start)
    try:
        _, melody = melody_of_selection(doc, ids)
    except UserError:  # no melody selected (yet): the notes at hand
        melody = notes
    at = notes[0].start if notes else 0
    return doc.base.key_in_force(at, melody)


# -- Reharmonize ---------------------------------------------------------------------


def melody_of_selection(doc: Document, ids) -> tuple[int, list[Note]]:
    """(track, notes) of the selected melody; :class:`UserError` says what is wrong."""
    sel = _selected(doc, ids)
    if not sel:
        raise UserError("Nothing is selected. Select the melody notes to reharmonize "
                        "(Select tool, S, then drag a box around them).")
    tracks = sorted({n.track for n in sel})
    names = {t: (doc.base.tracks[t].name.strip().lower() if t < len(doc.base.tracks) else "")
             for t in tracks}
    if len(tracks) > 1:
        soprano = [t for t in tracks if names[t] == "soprano"]
        if not soprano:
            listed = ", ".join(doc.base.tracks[t].name or f"voice {t + 1}" for t in tracks)
            raise UserError(f"The selection holds notes of {len(tracks)} voices ({listed}). "
                            "Reharmonize needs one melody: select the notes of one voice.")
        track = soprano[0]
        sel = [n for n in sel if n.track == track]
    else:
        track = tracks[0]
    for a, b in zip(sel, sel[1:]):
        if b.start < a.end:
            raise UserError(f"The selection is chordal: notes sound together at "
                            f"{_bar_label(doc, b.start)}. Reharmonize needs a single melody "
                            "line; select one note at a time (the top voice).")
    return track, sel


def lower_voice_tracks(doc: Document, melody_track: int) -> dict[str, int]:
    """Existing Alto/Tenor/Bass tracks by name (the melody's own track excluded), as the
    harmonizer maps them (:meth:`Score.voice_tracks`)."""
    tracks = doc.base.voice_tracks(melody_track)
    return {v: tracks[v] for v in LOWER_VOICES if v in tracks}


def reharmonize_request(doc: Document, ids, *, variations: int = 1, seed: int | None = None,
                        device: str = "auto", key: str | None = None) -> Request:
    track, melody = melody_of_selection(doc, ids)
    start, end = melody[0].start, max(n.end for n in melody)
    score = doc.score()
    locked = [n for n in score.notes if n.locked and n.track != track]
    params = dict(melody_track=track, start=start, end=end, locked=locked,
                  variations=int(variations), seed=seed, device=device, key=key or None)
    return Request("harmonize", score, params, (start, end),
                   context={"melody_track": track})


def harmonization_proposal(doc: Document, request_params: dict, result: Score) -> Proposal:
    """Fill (or create) the Alto, Tenor and Bass tracks with the result's new notes in
    the span; unlocked notes already there in the span are replaced, locked ones stay."""
    track = request_params["melody_track"]
    start, end = request_params["start"], request_params["end"]
    existing = lower_voice_tracks(doc, track)
    tracks = doc.base.tracks
    used = {t.channel for t in tracks}
    melody = tracks[track] if track < len(tracks) else Track()
    new_tracks: list[Track] = []
    target: dict[int, int] = {}  # result track -> document track
    for i, voice in enumerate(LOWER_VOICES, start=1):
        if voice in existing:
            target[i] = existing[voice]
            continue
        channel = free_melodic_channel(used, 15)
        used.add(channel)
        target[i] = len(tracks) + len(new_tracks)
        new_tracks.append(Track(voice, channel, melody.program))
    # Notes the model had to keep as they are: never added a second time.
    kept = {(n.pitch, n.start, n.duration) for n in doc.notes.values()
            if n.locked or (n.track in target.values() and not start <= n.start < end)}
    add = [n.moved(track=target[n.track], locked=False) for n in result.notes
           if n.track in target and start <= n.start < end
           and (n.pitch, n.start, n.duration) not in kept]
    remove = [i for i, n in doc.notes.items()
              if n.track in existing.values() and start <= n.start < end and not n.locked]
    melody_notes = [n for n in doc.notes.values()
                    if n.track == track and start <= n.start < end]
    locked_in_span = [n for n in doc.notes.values()
                      if n.locked and n.track != track and start <= n.start < end]
    return Proposal("harmonize", add, remove, new_tracks, (start, end),
                    clip_notes=melody_notes + locked_in_span + add)


# -- Continue ------------------------------------------------------------------------


def sketch_ids(doc: Document, ids, playhead: int) -> list[int]:
    """The notes to continue: the selection, else the notes starting before the
    playhead, else (playhead at the start or past the end) the whole piece."""
    chosen = [i for i in ids if i in doc.notes]
    if chosen:
        return chosen
    before = [i for i, n in doc.notes.items() if n.start < playhead]
    return before or list(doc.notes)


def continue_request(doc: Document, ids, playhead: int, *, bars: int = 4,
                     variations: int = 1, temperature: float = 1.0, top_p: float = 0.95,
                     seed: int | None = None, device: str = "auto",
                     key: str | None = None, style: str = "folk") -> Request:
    chosen = sketch_ids(doc, ids, playhead)
    if not chosen:
        raise UserError("Nothing to continue: draw a few notes of melody first, "
                        "or select the phrase to continue.")
    sketch = doc.score_of(chosen)
    if key:
        from composer_app.music import parse_key

        sketch.key_signatures = [KeySignature(0, parse_key(key))]
    end = sketch.end_tick
    target = sketch.bars_after(end, int(bars))
    first = min(n.start for n in sketch.notes)
    audition_from = max(doc.base.bar_start(max(doc.base.bar_of(end) - 1, 0)),
                        doc.base.bar_start(doc.base.bar_of(first)))
    params = dict(bars=int(bars), variations=int(variations), temperature=float(temperature),
                  top_p=float(top_p), seed=seed, device=device, style=str(style))
    return Request("continue", sketch, params, (audition_from, target),
                   context={"sketch_end": end, "target_end": target})


MIN_CLIPPED = 60  # ticks (a 1/32): a new note cut shorter than this by a locked one goes


def clear_of(notes: list[Note], kept: list[Note]) -> list[Note]:
    """``notes`` kept off the time each ``kept`` note of the same voice sounds: a note
    starting under one is dropped, a note running into one ends where it starts.

    The continuer writes a whole span without knowing what is locked in it; this is
    where the span a continuation fills leaves the locked notes theirs (the melody stays
    one line, so Reharmonize can take it).
    """
    spans: dict[int, list[tuple[int, int]]] = {}
    for k in kept:
        spans.setdefault(k.track, []).append((k.start, k.end))
    out = []
    for n in notes:
        end = n.end
        for a, b in spans.get(n.track, ()):
            if a <= n.start < b:
                end = n.start
                break
            if n.start < a < end:
                end = a
        if end == n.end:
            out.append(n)
        elif end - n.start >= MIN_CLIPPED:
            out.append(n.moved(duration=end - n.start))
    return out


def continuation_proposal(doc: Document, context: dict, result: Score) -> Proposal:
    """The new notes after the sketch, clear of the locked notes of their voice (see
    :func:`clear_of`); unlocked notes of the same voices that start in the continued
    span are replaced."""
    end, target = context["sketch_end"], context["target_end"]
    add = [n.moved(locked=False) for n in result.notes if n.start >= end]
    tracks = {n.track for n in add}
    locked = [n for n in doc.notes.values()
              if n.locked and n.track in tracks and n.end > end and n.start < target]
    add = clear_of(add, locked)
    remove = [i for i, n in doc.notes.items()
              if n.track in tracks and end <= n.start < target and not n.locked]
    return Proposal("continue", add, remove, [], (end, target), clip_notes=add)


# -- Regenerate section ----------------------------------------------------------------


def section_at(doc: Document, tick: int):
    """The marker whose section holds ``tick`` (the last at or before it), or None."""
    marks = [m for m in doc.base.markers if m.tick <= tick]
    return marks[-1] if marks else None


def section_request(doc: Document, marker, *, variations: int = 1, seed: int | None = None,
                    device: str = "auto", style: str = "folk") -> Request:
    """Regenerate the section ``marker`` starts (to the next marker, or the piece's end)."""
    from . import piece_edits as pe
    from .document import ScoreMeta

    if marker not in doc.base.markers:
        raise UserError("That marker is gone (undone or deleted); right-click another one.")
    score = doc.score()
    start, end = pe.section_span(ScoreMeta.of(doc.base), marker, score.end_tick)
    params = dict(start=start, end=end, variations=int(variations), seed=seed, device=device,
                  style=str(style))
    return Request("section", score, params, (start, end),
                   context={"name": marker.text})


def section_proposal(doc: Document, params: dict, result: Score) -> Proposal:
    """The result's notes in the section, in the voices the model wrote anew there (those
    whose notes in the section changed), clear of locked notes; the unlocked notes of
    those voices in the section are replaced. Nothing outside the section changes."""
    start, end = params["start"], params["end"]

    def inside(notes, track):
        return sorted((n.pitch, n.start, n.duration) for n in notes
                      if n.track == track and start <= n.start < end)

    new = [n for n in result.notes if start <= n.start < end]
    old = [n for n in doc.notes.values() if start <= n.start < end]
    tracks = {t for t in {n.track for n in new} | {n.track for n in old}
              if inside(new, t) != inside(old, t)}
    locked = [n for n in doc.notes.values() if n.locked and n.track in tracks
              and n.end > start and n.start < end]
    add = clear_of([n.moved(locked=False) for n in new if n.track in tracks], locked)
    remove = [i for i, n in doc.notes.items()
              if n.track in tracks and start <= n.start < end and not n.locked]
    return Proposal("section", add, remove, [], (start, end), clip_notes=add)


# -- Song form ---------------------------------------------------------------------------


def song_sketch(doc: Document, ids, active_track: int) -> tuple[int, Score]:
    """(track, sketch) for Song form: the selected notes (one voice), else the notes of
    the voice being edited. The sketch keeps only that voice's notes: it is section A."""
    sel = _selected(doc, ids)
    if sel:
        tracks = sorted({n.track for n in sel})
        if len(tracks) > 1:
            raise UserError("The selection holds notes of several voices; select the notes "
                            "of one voice (the melody) to be the song's first section.")
        track = tracks[0]
        chosen = [i for i in ids if i in doc.notes]
    else:
        track = active_track
        chosen = [i for i, n in doc.notes.items() if n.track == track]
    if not chosen:
        name = doc.base.tracks[track].name if track < len(doc.base.tracks) else "this voice"
        raise UserError(f"The sketch is empty: draw a few notes in {name} (or select a "
                        "phrase) to be the song's first section.")
    return track, doc.score_of(chosen)


def song_request(doc: Document, ids, active_track: int, *, form: str, section_bars: int,
                 related: str = "", vary: bool = False, reharmonize: bool = False,
                 seed: int | None = None, device: str = "auto", style: str = "folk") -> Request:
    """The song's request; :class:`UserError` for a form, sketch or meter it cannot be."""
    from composer_app.music.form import check_form, check_sketch, parse_related

    letters = check_form(form, section_bars)
    pairs = parse_related(related, letters)
    track, sketch = song_sketch(doc, ids, active_track)
    check_sketch(sketch, letters, section_bars)
    bar = sketch.time_signature_at(0).bar_ticks
    span = len(letters) * section_bars * bar
    params = dict(form=letters, section_bars=int(section_bars), related=pairs, vary=bool(vary),
                  reharmonize=bool(reharmonize), seed=seed, device=device, style=str(style))
    return Request("song", sketch, params, (0, span),
                   context={"melody_track": track, "letters": letters})


def song_proposal(doc: Document, request: Request, result: Score) -> Proposal:
    """What writing the song changes: the melody's voice from bar 1 to the song's end is
    the song's top line; with Reharmonize, Alto, Tenor and Bass are filled (or made) as
    Reharmonize fills them; other voices stay. The markers are the result's sections."""
    track = request.context["melody_track"]
    lo, hi = request.span
    four = request.params.get("reharmonize") and len(result.tracks) == 4
    top = 0 if four else track
    melody = [n.moved(track=track, locked=False) for n in result.notes
              if n.track == top and lo <= n.start < hi]
    remove = [i for i, n in doc.notes.items() if n.track == track and lo <= n.start < hi]
    add, new_tracks = list(melody), []
    if four:
        harm = harmonization_proposal(doc, {"melody_track": track, "start": lo, "end": hi},
                                      result)
        add += harm.add
        remove += harm.remove_ids
        new_tracks = harm.new_tracks
    return Proposal("song", add, remove, new_tracks, (lo, hi), clip_notes=add)

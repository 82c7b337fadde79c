"""The ghost variations on show: step through them, listen, accept one as a single undo
step (its undo brings them back), discard, drag one out as a clip.

:class:`Variations` is a base class of :class:`~.generation.Generation`, which runs the
jobs whose results these are (``_results``, ``_job``, ``_index``) and owns the window,
the panel and the actions it reads (``w``, ``panel``, ``dock``, ``actions``).
"""

from __future__ import annotations

import html

from composer_app.music import Score

from . import commands as cmd
from . import proposals
from .piano_roll import track_color
from .workers import GenerationJob


class Variations:
    """Showing and accepting the results of the last job (see the module's doc)."""

    @property
    def variations(self) -> list[Score]:
        return list(self._results)

    @property
    def index(self) -> int:
        return self._index

    def proposal(self, index: int | None = None) -> proposals.Proposal | None:
        """What accepting variation ``index`` (default: the one shown) would change."""
        if not self._results or self._job is None:
            return None
        result = self._results[self._index if index is None else index]
        if self._job.kind == "harmonize":
            return proposals.harmonization_proposal(self.w.doc, self._job.params, result)
        if self._job.kind == "section":
            return proposals.section_proposal(self.w.doc, self._job.params, result)
        return proposals.continuation_proposal(self.w.doc, self._job.context, result)

    def _show(self) -> None:
        prop = self.proposal()
        if prop is None:
            self.w.roll.set_ghost_notes(None)
            self.panel.set_variations(0, 0, "")
            self.resultsShown.emit(0)
        else:
            roll = self.w.roll
            # A replaced note the variation writes again exactly stays as it is: only the
            # notes that really go are struck through (and counted as replaced).
            again = {(n.track, n.pitch, n.start, n.duration) for n in prop.add}
            notes = self.w.doc.notes
            going = [i for i in prop.remove_ids if i in notes and (
                notes[i].track, notes[i].pitch, notes[i].start, notes[i].duration) not in again]
            unchanged = len(prop.remove_ids) - len(going)
            roll.set_ghost_notes(prop.add, replaced=going)
            # Bring the new notes into view with the music they go with.
            lo, hi = prop.span
            around = [n for n in self.w.doc.notes.values() if n.end > lo and n.start < hi]
            # the voice being edited (the melody) stays in sight when all cannot
            keep = [n.pitch for n in around + list(prop.add) if n.track == roll.active_track]
            roll.show_pitches([n.pitch for n in around + list(prop.add)], keep=keep)
            if prop.add:
                roll.show_ticks(min(n.start for n in prop.add), max(n.end for n in prop.add))
            new = len(prop.add) - unchanged
            detail = f"<br>{new}&nbsp;new note{'s' if new != 1 else ''}"
            if going:
                detail += (f"; {len(going)}&nbsp;replaced"
                           " <span style='color:#8a1c1c'>(struck through)</span>")
            if unchanged:
                detail += f"; {unchanged}&nbsp;unchanged"
            detail += self._legend(prop)
            self.panel.set_variations(self._index, len(self._results), detail)
            self.dock.raise_()  # its tab may be behind Voices (small screens)
            self.resultsShown.emit(len(self._results))
        self._update_actions()

    def _legend(self, prop: proposals.Proposal) -> str:
        """The ghost voices by name in their roll colours (new voices marked)."""
        tracks = self.w.doc.base.tracks + prop.new_tracks
        names = []
        for t in sorted({n.track for n in prop.add}):
            name = tracks[t].name if t < len(tracks) else f"Voice {t + 1}"
            new = " (new)" if t >= len(self.w.doc.base.tracks) else ""
            names.append(f'<span style="color:{track_color(t).darker(115).name()}">'
                         f"■ {html.escape(name)}</span>{new}")
        return "<br>" + " &nbsp;".join(names) if names else ""

    def step(self, delta: int) -> None:
        if self._results:
            self._index = (self._index + delta) % len(self._results)
            self._show()

    def select(self, index: int) -> None:
        if 0 <= index < len(self._results):
            self._index = index
            self._show()

    def audition(self) -> None:
        prop = self.proposal()
        if prop is None:
            return
        w = self.w
        w.stop()
        start = prop.span[0] if self._job.kind == "harmonize" else self._job.span[0]
        w.roll.set_playhead(start, follow=True)
        w.transport.update_position()
        w.transport.play(lambda: prop.applied_to(w.doc), start)

    def accept(self) -> list[int]:
        """Apply the shown variation as one undo step; returns the new notes' ids."""
        prop = self.proposal()
        if prop is None:
            return []
        doc = self.w.doc
        number = self._index + 1
        shown = (self._job, list(self._results), self._index)
        with cmd.one_step(doc, prop.text):
            # First in the step, so undone last: the notes are back when the variations are.
            doc.undo_stack.push(cmd.Callback("Variations", lambda: self._bring_back(*shown),
                                             lambda: self._put_away(shown[0], number)))
            if prop.new_tracks:
                def add_tracks(meta):
                    meta.tracks.extend(prop.new_tracks)
                cmd.edit_meta(doc, "Add voices", add_tracks)
            ids = cmd.replace_notes(doc, prop.remove_ids, prop.add, prop.text)
        kind = self._job.kind
        self.discard(quiet=True)
        if kind in ("continue", "section"):
            self.w.roll.set_selection(set(self.w.roll.selection) | set(ids))
        self.w.autosaver.save_now()
        self.w.statusBar().showMessage(f"Accepted variation {number} (Ctrl+Z undoes it)", 5000)
        return ids

    def _bring_back(self, job: GenerationJob, results: list[Score], index: int) -> None:
        """Undo of an accept: the variations it was chosen from are on show again (unless
        newer ones are), at the one that was accepted."""
        if self._results:
            return
        self._job, self._results, self._index = job, list(results), index
        self._show()
        self.w.statusBar().showMessage(
            f"Accept undone: the {len(results)} variation{'s' if len(results) > 1 else ''} "
            "are back (Alt+←/→ to try another)", 6000)

    def _put_away(self, job: GenerationJob, number: int) -> None:
        """Redo of an accept: the variations brought back by its undo go again (and the
        status bar stops saying the accept is undone)."""
        if self._job is job:
            self.discard(quiet=True)
            self.w.statusBar().showMessage(f"Accepted variation {number} again "
                                           "(Ctrl+Z undoes it)", 5000)

    def _piece_replaced(self) -> None:
        """New/Open/Restore: the variations on show belonged to the old piece. (A job
        still running finishes and its results are dropped, see :meth:`_finished`.)"""
        self.discard(quiet=True)

    def discard(self, quiet: bool = False) -> None:
        had = bool(self._results)
        self._results, self._job, self._index = [], None, 0
        self.w.transport.back_to_piece()  # if a variation was being heard
        self._show()
        if had and not quiet:
            self.w.statusBar().showMessage("Variations discarded", 3000)

    def clip_source(self) -> tuple[Score, str]:
        prop = self.proposal()
        if prop is None:
            return Score(notes=[]), "variation"
        what = {"harmonize": "reharmonization", "section": "section"}.get(prop.kind,
                                                                          "continuation")
        return prop.clip(self.w.doc), f"{what} {self._index + 1}"

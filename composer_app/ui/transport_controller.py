"""Play, stop, loop, metronome and the playhead, between the roll and the audio link.

One :class:`TransportController` per main window. It starts and stops playback of a
*source* (a function returning the Score to hear: the piece, or a variation laid over
it), polls the playhead while playing (about 30 Hz), sends edits made during playback
to the synth (debounced), keeps the loop and the Loop action in step with the ruler,
and shows the position (bar.beat.tick) in :attr:`position_display`.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QStyle

from composer_app.music import Score

POLL_MS = 33  # ~30 Hz playhead
LIVE_UPDATE_MS = 120  # edits reach a running playback after this pause


class TransportController(QObject):
    positionChanged = Signal(int)  # the playhead's tick, whoever moved it

    def __init__(self, window, audio, roll, doc):
        super().__init__(window)
        self.window = window  # for its style (icons)
        self.audio, self.roll, self.doc = audio, roll, doc
        self.play_action: QAction | None = None
        self.loop_action: QAction | None = None
        # What is playing: the piece, or a variation laid over it (Generation's Listen).
        # Edits during playback are rebuilt from the same source.
        self.play_source: Callable[[], Score] = doc.score
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll_playhead)
        self._live_update = QTimer(self)
        self._live_update.setSingleShot(True)
        self._live_update.setInterval(LIVE_UPDATE_MS)
        self._live_update.timeout.connect(lambda: self.audio.set_score(self.play_source()))
        self.position_display = QLabel()
        self.position_display.setMinimumWidth(110)
        self.position_display.setStyleSheet(
            "QLabel { font-family: monospace; font-size: 14px; padding: 2px 8px;"
            " background: #20242a; color: #9fe29f; border-radius: 3px; }")
        self.position_display.setToolTip("Playhead: bar.beat.tick")
        audio.finished.connect(self.playback_finished)
        doc.notesChanged.connect(self.edited_while_playing)
        doc.metaChanged.connect(self.edited_while_playing)
        doc.eventsChanged.connect(self.edited_while_playing)
        roll.playheadMoved.connect(self.playhead_set_by_user)
        roll.loopChanged.connect(self.loop_changed)
        roll.previewPitch.connect(self.preview)

    def attach(self, play: QAction, loop: QAction) -> None:
        """The Play action (its icon shows play or pause) and the Loop action (checked
        while a loop is on)."""
        self.play_action, self.loop_action = play, loop

    @property
    def loop_on(self) -> bool:
        return self.loop_action is not None and self.loop_action.isChecked()

    # -- playing ----------------------------------------------------------------------

    def show_playing(self, playing: bool) -> None:
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        if self.play_action is not None:
            self.play_action.setIcon(self.window.style().standardIcon(icon))

    def play(self, source: Callable[[], Score], start: int, **record) -> None:
        """Play what ``source`` returns from tick ``start`` (``record``: the count-in,
        ``hold_open`` and ``on_started`` of a recording, :meth:`AudioLink.play`'s)."""
        self.show_playing(True)
        self.play_source = source
        if record:
            self.audio.play(source(), start_tick=start, **record)
        else:
            self.audio.play(source(), start_tick=start)
        self.timer.start()

    def back_to_piece(self) -> None:
        """Play the piece again where a variation (another source) was being heard."""
        if self.play_source != self.doc.score:
            self.play_source = self.doc.score
            if self.audio.is_playing:
                self.audio.set_score(self.doc.score())

    def play_pause(self) -> None:
        if self.audio.is_playing:
            self.audio.pause()
            self.timer.stop()
            self.show_playing(False)
            return
        if self.loop_on and self.roll.loop:
            self.audio.set_loop(*self.roll.loop)
        self.play(self.doc.score, self.roll.playhead)

    def stop(self) -> None:
        self.audio.stop()
        self.timer.stop()
        self.show_playing(False)

    def go_home(self) -> None:
        playing = self.audio.is_playing
        self.stop()
        self.roll.set_playhead(0, follow=True)
        self.update_position()
        if playing:
            self.play_pause()

    def preview(self, pitch: int, track: int) -> None:
        tracks = self.doc.base.tracks
        t = tracks[track] if 0 <= track < len(tracks) else None
        self.audio.preview(pitch, t.channel if t else 0, t.program if t else None)

    def set_follow(self, on: bool) -> None:
        self.roll.follow_playhead = on

    # -- loop -------------------------------------------------------------------------

    def toggle_loop(self, on: bool) -> None:
        """The Loop action: on without a loop set, loop the selection (else four bars
        from the playhead's bar)."""
        roll, base = self.roll, self.doc.base
        if on and not roll.loop:
            sel = roll.selected_notes().values()
            if sel:
                a = roll.snap_floor(min(n.start for n in sel))
                b = max(n.end for n in sel)
            else:
                a = base.bar_start(base.bar_of(roll.playhead))
                b = base.bar_start(base.bar_of(roll.playhead) + 4)
            roll.set_loop(a, b)
        roll.set_loop_on(bool(on and roll.loop))
        self.audio.set_loop(*(roll.loop if on and roll.loop else (0, 0)))

    def loop_changed(self, a: int, b: int) -> None:
        """The ruler set a loop (on) or cleared it (``(0, 0)``: off)."""
        if self.loop_action is not None:
            self.loop_action.setChecked(b > a)
        self.roll.set_loop_on(b > a)
        if b > a:
            self.audio.set_loop(a, b)
        else:
            self.audio.set_loop(0, 0)

    # -- the playhead -----------------------------------------------------------------

    def update_position(self) -> None:
        bar, beat, tick = self.doc.base.tick_to_bar_beat(self.roll.playhead)
        self.position_display.setText(f"{bar:3d}.{beat}.{tick:03d}")
        self.positionChanged.emit(self.roll.playhead)

    def playhead_set_by_user(self, tick: int) -> None:
        self.update_position()
        if self.audio.is_playing:
            self.audio.seek(tick)

    def edited_while_playing(self) -> None:
        if self.audio.is_playing:
            self._live_update.start()

    def playback_finished(self) -> None:
        self.timer.stop()
        self.poll_playhead()

    def poll_playhead(self) -> None:
        pos = self.audio.position_tick
        if pos is not None:
            self.roll.set_playhead(pos, follow=True)
            self.update_position()
        if not self.audio.is_playing and not self.audio._opening:
            self.timer.stop()
            self.show_playing(False)

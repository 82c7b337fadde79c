"""The in-app listening test: several variations of one passage, blinded, rated, revealed.

Pure bookkeeping (the dialog is ``ui/listening_dialog.py``): the variations are shown
under letters in an order drawn from the operating system's random source, the listener
rates each 1-10, and only then does :meth:`BlindSession.reveal` say which was which.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from composer_app.music import Note, Score

from .page import SCALE

__all__ = ["BlindSession", "SCALE", "excerpt"]


@dataclass
class BlindSession:
    order: list[int]  # position shown -> variation index
    ratings: dict[int, int] = field(default_factory=dict)  # position -> 1..10
    revealed: bool = False

    @classmethod
    def new(cls, count: int, rng=None) -> BlindSession:
        if count < 2:
            raise ValueError("a blind test needs two variations or more")
        order = list(range(count))
        (rng or secrets.SystemRandom()).shuffle(order)
        return cls(order)

    @staticmethod
    def letter(position: int) -> str:
        return chr(ord("A") + position)

    def rate(self, position: int, rating: int | None) -> None:
        if self.revealed:
            raise RuntimeError("already revealed")
        if rating is None:
            self.ratings.pop(position, None)
        elif not 1 <= int(rating) <= 10:
            raise ValueError(f"a rating is 1-10, not {rating}")
        else:
            self.ratings[position] = int(rating)

    @property
    def complete(self) -> bool:
        return len(self.ratings) == len(self.order)

    def reveal(self) -> list[tuple[str, int, int | None]]:
        """(letter, variation number from 1, rating) per position, best rated first."""
        self.revealed = True
        rows = [(self.letter(p), v + 1, self.ratings.get(p)) for p, v in enumerate(self.order)]
        return sorted(rows, key=lambda r: (-(r[2] or 0), r[1]))


def excerpt(score: Score, start: int, end: int) -> Score:
    """``score`` with only the notes that start in ``[start, end)``, cut at ``end`` (the
    maps and tracks as they are), to play from ``start``."""
    out = score.copy()
    out.notes = [Note(n.pitch, n.start, min(n.end, end) - n.start, n.velocity, n.track)
                 for n in score.notes if start <= n.start < end]
    out.sort()
    return out

"""composer_app: a desktop composing assistant (piano roll, LSTM continue, Bach reharmonizer)."""

__version__ = "0.1.0"

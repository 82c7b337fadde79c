"""Data sets, training loops, evaluation. Never imported by the app at start-up."""

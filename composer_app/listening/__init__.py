"""Blind listening tests (issue 17): kits of clips people rate, and their scoring.

- :mod:`.passage`: whole-bar windows of a piece and the one fixed rendition (instrument,
  tempo, velocity) every clip is heard in;
- :mod:`.kit`: rendering a pair's clips to equal length and loudness, blinding them, and
  writing the kit (``kit/index.html`` + ``kit/clips/``) and its sealed answer key;
- :mod:`.page`: the offline page listeners open;
- :mod:`.key`: sealing and checking the answer key;
- :mod:`.scoring`: unblinding listeners' answers into the report;
- :mod:`.session`: the small in-app test (several variations of one passage).

Nothing here harmonizes: whoever makes a kit passes the versions in
(``training/listening.py`` for the CLI, the Generation results in the app). Layers:
music/ and audio/ only.
"""

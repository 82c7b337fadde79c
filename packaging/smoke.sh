#!/usr/bin/env bash
# Smoke test of the built bundle, headless: --version, then a real harmonization.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-dist/composer-app/composer-app}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BIN" --version
.venv/bin/python - "$tmp/melody.mid" <<'PY'
import sys
from composer_app.music import Note, Score, write_midi
pitches = [67, 67, 69, 71, 72, 71, 69, 67, 69, 71, 72, 74, 72, 71, 69, 67]
write_midi(Score(notes=[Note(p, i * 480, 480) for i, p in enumerate(pitches)]), sys.argv[1])
PY
"$BIN" harmonize "$tmp/melody.mid" -o "$tmp/satb.mid" --seed 1
"$BIN" info "$tmp/satb.mid" > "$tmp/info.json"
.venv/bin/python - "$tmp/info.json" <<'PY'
import json, sys
info = json.load(open(sys.argv[1]))
names = [t["name"] for t in info["tracks"]]
assert names == ["Soprano", "Alto", "Tenor", "Bass"], names
assert all(t["notes"] > 0 for t in info["tracks"]), info
print("smoke test passed:", names)
PY
du -sh "$(dirname "$BIN")"

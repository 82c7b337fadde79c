"""The listening-test page in a real headless Chromium (skipped when none is installed):
it loads offline with no console errors, its clips load and play, clicking ratings and
the original choice is recorded, and the download is the answers JSON that scores."""

from __future__ import annotations

import json
import time

import pytest

from composer_app.audio.soundfont import find_soundfont
from composer_app.listening import key as K
from composer_app.listening.kit import make_kit
from composer_app.listening.scoring import score_kit

from .chromium_cdp import Chromium, find_chromium
from .test_listening import _pairs

CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed "
                       "(Debian/Ubuntu: apt-get install chromium)"),
    pytest.mark.skipif(find_soundfont() is None, reason="no GM soundfont installed"),
]

AUDIO_STATE = """Promise.all([...document.querySelectorAll('audio')].map(a => new Promise(res => {
  const done = () => res({src: a.currentSrc, ready: a.readyState, duration: a.duration,
                          error: a.error && a.error.code});
  if (a.readyState >= 1 || a.error) done();
  else { a.addEventListener('loadedmetadata', done); a.addEventListener('error', done); }
})))"""

PLAY = """(async () => { const a = document.querySelectorAll('audio')[1];
  await a.play(); await new Promise(r => setTimeout(r, 600));
  const t = a.currentTime; a.pause(); return t; })()"""

# Click the rating labels as a person would (a label click checks its radio): each clip
# of pair shown k gets rating k+1 (A) and 10-k (B); the original pick is always clip A.
ANSWER = """(() => {
  const name = document.getElementById('listener');
  name.value = 'Ada'; name.dispatchEvent(new Event('input'));
  document.querySelectorAll('.pair').forEach((box, k) => {
    const scales = box.querySelectorAll('.scale');
    scales[0].querySelectorAll('label')[k].click();
    scales[1].querySelectorAll('label')[9 - k].click();
    box.querySelectorAll('.orig input')[0].parentElement.click();
  });
  const notes = document.getElementById('notes');
  notes.value = 'clip 3 sounded odd'; notes.dispatchEvent(new Event('input'));
  return document.getElementById('status').textContent;
})()"""


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    out = tmp_path_factory.mktemp("page") / "kit"
    sealed = make_kit(out, _pairs(4), {"seed": 0})
    return out, sealed


def test_page_loads_plays_records_and_downloads_in_chromium(kit, tmp_path):
    out, sealed = kit
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser = Chromium(CHROMIUM, str(tmp_path / "profile"))
    try:
        browser.send("Browser.setDownloadBehavior", session=None, behavior="allow",
                     downloadPath=str(downloads), eventsEnabled=True)
        for domain in ("Runtime", "Log", "Page"):
            browser.send(f"{domain}.enable")
        browser.send("Page.navigate", url=(out / "kit" / "index.html").as_uri())
        browser.wait_event("Page.loadEventFired")
        audio = browser.evaluate(AUDIO_STATE)
        assert len(audio) == 8
        files = {c["file"] for p in sealed["content"]["pairs"] for c in p["clips"].values()}
        assert {a["src"].rsplit("/", 1)[-1] for a in audio} == files
        for a in audio:
            assert a["error"] is None and a["ready"] >= 1 and a["duration"] > 1.0, a
        assert browser.evaluate(PLAY) > 0.1  # it really plays
        assert browser.evaluate(ANSWER) == "4 of 4 pairs answered"
        browser.evaluate("document.getElementById('download').click()")
        deadline = time.monotonic() + 20
        saved = []
        while time.monotonic() < deadline and not saved:
            saved = [p for p in downloads.iterdir() if p.suffix == ".json"]
            time.sleep(0.1)
        assert saved, "no download"
        assert saved[0].name == f"answers-{sealed['kit_id'][:8]}-Ada.json"
        errors = browser.errors()
        # A reload keeps the answers (local storage).
        browser.send("Page.reload")
        time.sleep(1.0)
        status = browser.evaluate("document.getElementById('status').textContent")
    finally:
        browser.close()
    assert errors == []
    assert status == "4 of 4 pairs answered"
    results = json.loads(saved[0].read_text())
    assert results["kit_id"] == sealed["kit_id"] and results["listener"] == "Ada"
    assert results["notes"] == "clip 3 sounded odd"
    assert sorted(results["order"]) == [1, 2, 3, 4]
    by_pair = {p["pair"]: p for p in sealed["content"]["pairs"]}
    for k, a in enumerate(results["answers"]):  # in the order this page showed them
        assert a["pair"] == results["order"][k]
        clips = by_pair[a["pair"]]["clips"]
        assert a["ratings"] == {clips["A"]["file"]: k + 1, clips["B"]["file"]: 10 - k}
        assert a["original"] == clips["A"]["file"]
    report = score_kit(out, [saved[0]])
    assert report["listeners"] == 1
    assert sum(r["identification"]["trials"] for name, r in report["systems"].items()
               if name != "original") == 4
    assert K.read_key(out / K.KEY_NAME)["kit_id"] == sealed["kit_id"]

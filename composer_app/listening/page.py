"""The page listeners open: one self-contained HTML file beside ``clips/``.

No network, no server, no libraries: plain HTML, CSS and a small script. It knows the
kit id and, per pair, the two clip file names, nothing else. Each listener's page shows
the pairs in its own random order, keeps the answers in the browser's local storage
while they work (a reload loses nothing), and saves them as a JSON download.
"""

from __future__ import annotations

import html
import json

RESULTS_FORMAT = "composer-app listening-test results"
SCALE = {1: "completely random noise", 5: "musically plausible",
         10: "composed by a novice composer"}

_CSS = """
body{font:16px/1.45 system-ui,sans-serif;max-width:52em;margin:1em auto;padding:0 1em;
color:#222;background:#fdfdfb}
h1{font-size:1.4em}h2{font-size:1.1em;margin:0 0 .4em}
.pair{border:1px solid #ccc;border-radius:6px;padding:.7em 1em;margin:1em 0;background:#fff}
.pair.done{border-color:#6a6}
.clip{margin:.5em 0 .8em}.clip audio{width:100%}
.scale{display:flex;gap:.2em;flex-wrap:wrap;align-items:center}
.scale label{display:inline-block;min-width:2.1em;text-align:center;border:1px solid #bbb;
border-radius:4px;padding:.1em 0;cursor:pointer}
.scale input{position:absolute;opacity:0;width:1px;height:1px}
.scale input:checked+span{font-weight:bold}
.scale label:has(input:checked){background:#2d6cb5;color:#fff;border-color:#2d6cb5}
.scale input:focus-visible+span{outline:2px solid #2d6cb5}
.legend{font-size:.85em;color:#555}.orig{margin-top:.4em}
textarea{width:100%;min-height:5em}#status{margin-left:1em;color:#555}
button{font-size:1em;padding:.4em 1em}
"""

_JS = r"""
(function () {
  "use strict";
  var kit = JSON.parse(document.getElementById("kit-data").textContent);
  var storeKey = "composer-app-listening-" + kit.kit_id;
  var letters = ["A", "B"];

  function shuffled(n) {
    var a = [];
    for (var i = 0; i < n; i++) a.push(i);
    for (var j = n - 1; j > 0; j--) {
      var k = Math.floor(Math.random() * (j + 1));
      var t = a[j]; a[j] = a[k]; a[k] = t;
    }
    return a;
  }
  function restore() {
    try {
      var s = JSON.parse(window.localStorage.getItem(storeKey));
      if (s && Array.isArray(s.order) && s.order.length === kit.pairs.length) return s;
    } catch (e) { /* no storage on this page: start afresh */ }
    return null;
  }
  var state = restore() || {listener: "", notes: "", answers: {},
                            order: shuffled(kit.pairs.length),
                            started: new Date().toISOString()};
  function persist() {
    try { window.localStorage.setItem(storeKey, JSON.stringify(state)); } catch (e) { }
    update();
  }
  function answer(p) {
    if (!state.answers[p]) state.answers[p] = {ratings: {}, original: null};
    return state.answers[p];
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  var list = document.getElementById("pairs");
  state.order.forEach(function (p, shown) {
    var files = kit.pairs[p];
    var box = el("section", {"class": "pair", "id": "pair-" + (shown + 1)});
    box.appendChild(el("h2", {}, "Pair " + (shown + 1) + " of " + kit.pairs.length));
    files.forEach(function (file, c) {
      var clip = el("div", {"class": "clip"});
      clip.appendChild(el("div", {}, "Clip " + letters[c]));
      var audio = el("audio", {"controls": "", "preload": "auto", "src": "clips/" + file});
      audio.addEventListener("play", function () {
        document.querySelectorAll("audio").forEach(function (o) { if (o !== audio) o.pause(); });
      });
      clip.appendChild(audio);
      var scale = el("div", {"class": "scale", "role": "radiogroup",
                             "aria-label": "Rating of clip " + letters[c]});
      scale.appendChild(el("span", {"class": "legend"}, "Rating:"));
      for (var r = 1; r <= 10; r++) {
        var label = el("label", {"title": kit.scale[r] ? r + ": " + kit.scale[r] : String(r)});
        var input = el("input", {"type": "radio", "name": "r-" + p + "-" + c, "value": r,
                                 "data-pair": p, "data-file": file});
        if (answer(p).ratings[file] === r) input.checked = true;
        input.addEventListener("change", function (ev) {
          var t = ev.target;
          answer(t.getAttribute("data-pair")).ratings[t.getAttribute("data-file")] =
            Number(t.value);
          persist();
        });
        label.appendChild(input);
        label.appendChild(el("span", {}, String(r)));
        scale.appendChild(label);
      }
      clip.appendChild(scale);
      clip.appendChild(el("div", {"class": "legend"},
        "1 = " + kit.scale[1] + " · 5 = " + kit.scale[5] + " · 10 = " + kit.scale[10]));
      box.appendChild(clip);
    });
    var orig = el("div", {"class": "orig"}, "Which one is the original? ");
    files.forEach(function (file, c) {
      var label = el("label", {});
      var input = el("input", {"type": "radio", "name": "o-" + p, "value": file,
                               "data-pair": p});
      if (answer(p).original === file) input.checked = true;
      input.addEventListener("change", function (ev) {
        answer(ev.target.getAttribute("data-pair")).original = ev.target.value;
        persist();
      });
      label.appendChild(input);
      label.appendChild(document.createTextNode(" Clip " + letters[c] + " "));
      orig.appendChild(label);
    });
    box.appendChild(orig);
    list.appendChild(box);
  });

  var name = document.getElementById("listener");
  var notes = document.getElementById("notes");
  name.value = state.listener;
  notes.value = state.notes;
  name.addEventListener("input", function () { state.listener = name.value; persist(); });
  notes.addEventListener("input", function () { state.notes = notes.value; persist(); });

  function complete(p) {
    var a = state.answers[p];
    if (!a || !a.original) return false;
    return kit.pairs[p].every(function (f) { return a.ratings[f] >= 1; });
  }
  function update() {
    var done = 0;
    state.order.forEach(function (p, shown) {
      var ok = complete(p);
      done += ok ? 1 : 0;
      document.getElementById("pair-" + (shown + 1)).className = "pair" + (ok ? " done" : "");
    });
    document.getElementById("status").textContent =
      done + " of " + kit.pairs.length + " pairs answered";
  }

  function results() {
    var answers = [];
    state.order.forEach(function (p) {
      var a = state.answers[p] || {ratings: {}, original: null};
      answers.push({pair: p + 1, ratings: a.ratings, original: a.original});
    });
    return {format: kit.format, version: 1, kit_id: kit.kit_id,
            listener: state.listener.trim(), started: state.started,
            saved: new Date().toISOString(), order: state.order.map(function (p) { return p + 1; }),
            answers: answers, notes: state.notes};
  }
  document.getElementById("download").addEventListener("click", function () {
    var data = JSON.stringify(results(), null, 1);
    var blob = new Blob([data], {type: "application/json"});
    var a = document.createElement("a");
    var who = (state.listener.trim() || "listener").replace(/[^A-Za-z0-9_-]+/g, "_").slice(0, 40);
    a.href = URL.createObjectURL(blob);
    a.download = "answers-" + kit.kit_id.slice(0, 8) + "-" + who + ".json";
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  });
  update();
})();
"""


def page_html(kit_id: str, pairs: list[list[str]]) -> str:
    """The page for a kit: ``pairs`` lists each pair's two clip file names, A then B."""
    data = {"format": RESULTS_FORMAT, "kit_id": kit_id, "pairs": pairs,
            "scale": {str(k): v for k, v in SCALE.items()}}
    blob = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    scale = "; ".join(f"<b>{k}</b> “{html.escape(v)}”" for k, v in SCALE.items())
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; media-src 'self'; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'none'; connect-src 'none'">
<title>Listening test {html.escape(kit_id[:8])}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>Listening test</h1>
<p>Each pair holds two short clips of the same melody, harmonized in two ways: one is the
original, the other was written by a computer. Listen to both clips of a pair (as often
as you like, with headphones if you can), rate each from 1 to 10 — {scale} — and say which
one you think is the original. Guess when you are unsure.</p>
<p><label>Your name or initials: <input id="listener" autocomplete="off"></label></p>
<div id="pairs"></div>
<p><label>Notes (anything you noticed):<br><textarea id="notes"></textarea></label></p>
<p><button id="download" type="button">Download my answers</button><span id="status"></span></p>
<p class="legend">Send the downloaded file back to whoever gave you this test. Your answers
also stay in this browser until you download them. Kit {html.escape(kit_id)}.</p>
<script type="application/json" id="kit-data">{blob}</script>
<script>{_JS}</script>
</body>
</html>
"""

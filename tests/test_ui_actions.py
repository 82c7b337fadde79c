"""The window's action registry (ui/actions.py): one place for names, keys and menus."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtGui import QKeySequence  # noqa: E402

from composer_app.ui import actions  # noqa: E402


@pytest.fixture
def window(make_window):
    w = make_window()
    return w


def test_the_registry_knows_every_action_and_no_key_twice(window):
    registry = window.action_registry
    assert registry.clashes() == []
    named = window.named_actions()
    # the window's own, the roll's editing actions and Generation's, by their names
    for name in ("new", "redo", "tool_erase", "edit_fermata", "reharmonize", "variation_next"):
        assert name in named
    assert named["edit_fermata"] is window.roll.edit_actions["fermata"]
    assert named["reharmonize"] is window.act_reharmonize
    assert window.tool_actions["draw"].isChecked()


def test_clashes_are_found_as_the_keys_are_typed(window):
    registry = window.action_registry
    registry["zoom_out"].setShortcut(QKeySequence("Ctrl+Shift+="))  # = Ctrl++ (zoom in)
    registry["metronome"].setShortcut(QKeySequence("Q"))  # the roll's Quantize
    found = {(key, a, b) for key, a, b in registry.clashes()}
    assert ("Ctrl+Shift+=", "zoom_in", "zoom_out") in found
    assert ("Q", "metronome", "edit_quantize") in found
    assert actions.typed(QKeySequence("Ctrl++")) == "Ctrl+Shift+="


def test_one_line_adds_a_menu_entry(qtbot):
    from PySide6.QtWidgets import QMainWindow

    class Host(QMainWindow):
        def __init__(self):
            super().__init__()
            self.calls = []

        def listening_test(self):
            self.calls.append("listening")

    host = Host()
    qtbot.addWidget(host)
    entries = [actions.Action("about", "&About", "close", (), actions.HELP),
               actions.Action("listening_test", "&Listening test…", "listening_test", (),
                              actions.HELP)]
    registry = actions.ActionRegistry(host, entries)
    registry.build()
    menus = registry.build_menus(host.menuBar())
    assert [a.text() for a in menus[actions.HELP].actions()] == ["&About", "&Listening test…"]
    host.act_listening_test.trigger()
    assert host.calls == ["listening"]


def test_every_expands_a_standard_key_and_drops_repeats():
    seqs = actions.key_sequences((actions.Every(actions.K.Redo), "Ctrl+Shift+Z", "Ctrl+Y"))
    texts = [s.toString() for s in seqs]
    assert len(texts) == len(set(texts)) and {"Ctrl+Shift+Z", "Ctrl+Y"} <= set(texts)
    assert [s.toString() for s in actions.key_sequences(("Ctrl+E",))] == ["Ctrl+E"]


def test_preferences_has_a_key_on_every_platform(window):
    """X11 binds no key to the platform's Preferences: Ctrl+, (as most Linux apps use)
    opens them there too, bound once and to nothing else. (Checked pressed in a real X
    window; offscreen, QTest's Ctrl+, does not reach the shortcut map.)"""
    keys = [k.toString() for k in window.act_prefs.shortcuts()]
    assert "Ctrl+," in keys and len(keys) == len(set(keys)), keys
    others = {k.toString() for a in window.named_actions().values() if a is not window.act_prefs
              for k in a.shortcuts()}
    assert "Ctrl+," not in others

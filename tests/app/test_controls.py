"""The control panel on its own: model cards, settings round trip, signals (Qt widgets, no OpenGL)."""

from __future__ import annotations

import json

from app.controls import ControlPanel, model_card_text
from app.settings import AppSettings
from app.settings_store import SettingsStore


def test_model_card_text_prefers_json_then_markdown(tmp_path) -> None:
    model = tmp_path / "m.onnx"
    assert "no model card (m.json)" in model_card_text(model)
    (tmp_path / "m.md").write_text("# Depth-Net\n")
    assert model_card_text(model) == "# Depth-Net\n"
    (tmp_path / "m.json").write_text(json.dumps({"mean_error_mm": 12.5}))
    assert json.loads(model_card_text(model)) == {"mean_error_mm": 12.5}
    (tmp_path / "m.json").write_text("{broken")
    assert "unreadable model card" in model_card_text(model)


def test_panel_reads_back_what_it_was_given(qtbot) -> None:
    settings = AppSettings(cube_override_mm=250, near_mm=300, far_mm=900, smoothing=False, smooth_min_cutoff_hz=2.5,
                           smooth_beta_per_mm=0.2, refine=False, show_fit=False,
                           cloud_colour="rgb", show_ground_truth=False, image_mode="depth")
    panel = ControlPanel(settings)
    qtbot.addWidget(panel)
    assert panel.read_settings(AppSettings()) == settings
    assert not panel.beta_spin.isEnabled()  # smoothing off greys out its parameters
    assert not panel.fit_check.isEnabled()  # refinement off: no fitted model to show


def test_refine_checkbox_emits_and_enables_the_model_view(qtbot) -> None:
    panel = ControlPanel(AppSettings())
    qtbot.addWidget(panel)
    assert panel.refine_check.isChecked() and panel.fit_check.isChecked() and panel.fit_check.isEnabled()
    with qtbot.waitSignal(panel.settings_changed):
        panel.refine_check.setChecked(False)
    assert panel.read_settings(AppSettings()).refine is False and not panel.fit_check.isEnabled()
    with qtbot.waitSignal(panel.view_options_changed):
        panel.fit_check.setChecked(False)
    assert panel.read_settings(AppSettings()).show_fit is False


def test_two_hands_is_on_by_default_and_the_checkbox_switches_the_pipeline(qtbot) -> None:
    from app.runtime import pipeline_settings

    panel = ControlPanel(AppSettings())
    qtbot.addWidget(panel)
    assert panel.two_hands_check.isChecked() and pipeline_settings(AppSettings()).max_hands == 2
    with qtbot.waitSignal(panel.settings_changed):
        panel.two_hands_check.setChecked(False)
    settings = panel.read_settings(AppSettings())
    assert settings.max_hands == 1 and pipeline_settings(settings).max_hands == 1
    assert not ControlPanel(settings).two_hands_check.isChecked()  # a stored choice comes back


def test_panel_signals(qtbot) -> None:
    panel = ControlPanel(AppSettings())
    qtbot.addWidget(panel)
    panel.set_sources([("Demo", "replay:/demo"), ("Synthetic", "synthetic:0")], "synthetic:0")
    assert panel.source_combo.currentData() == "synthetic:0"
    with qtbot.waitSignal(panel.source_requested) as blocker:
        panel.source_combo.setCurrentIndex(0)
        panel.source_combo.activated.emit(0)
    assert blocker.args == ["replay:/demo"]
    with qtbot.waitSignal(panel.settings_changed):
        panel.cube_spin.setValue(280)
    panel.set_replay_length(40)
    with qtbot.waitSignal(panel.seek_requested) as blocker:
        panel.seek_slider.setValue(12)
    assert blocker.args == [12]
    panel.show_position(5, 40)
    assert panel.frame_label.text() == "frame 6 / 40" and panel.seek_slider.value() == 5


def test_settings_round_trip_in_a_temporary_file(tmp_path) -> None:
    store = SettingsStore(str(tmp_path / "s.ini"))
    assert store.load() == AppSettings()  # empty file: defaults
    saved = AppSettings(source="replay:/x", model="/m.onnx", cube_override_mm=320, smoothing=False, image_mode="rgb",
                        refine=False, show_fit=False)
    store.save(saved)
    assert SettingsStore(str(tmp_path / "s.ini")).load() == saved
    assert store.location == str(tmp_path / "s.ini")
    assert store.update(refine=True) == AppSettings(**{**saved.__dict__, "refine": True})  # one field over the rest
    assert SettingsStore(str(tmp_path / "s.ini")).load().refine is True

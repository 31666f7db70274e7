"""``--self-test`` opens the main window offscreen; it must leave the person's settings alone."""

from __future__ import annotations

from PySide6.QtCore import QByteArray

from pneumo_desktop.gui.settings import Settings, settings_path


def test_self_test_window_leaves_the_users_settings_byte_identical(qapp, tmp_path):
    from pneumo_desktop.selftest import _open_and_close_window

    # A person's settings: a big window, their own model and threshold, a heatmap opacity.
    my_model = tmp_path / "my-model.pneumo"
    my_model.write_bytes(b"a model file the self-test must not load or store")
    mine = Settings()
    mine.set_window(QByteArray(b"\x01\xd9\xd0\xcb my 1800x1100 window"), QByteArray(b"my dock layout"))
    mine.set_active_model_path(my_model)
    mine.set_threshold_for("my-model-version", 0.42)
    mine.set_overlay_opacity(0.8)
    mine.set_overlay_visible(True)
    mine.sync()
    before = settings_path().read_bytes()
    folder_before = sorted(p.name for p in settings_path().parent.iterdir())

    assert _open_and_close_window() == "ok"

    assert settings_path().read_bytes() == before
    assert sorted(p.name for p in settings_path().parent.iterdir()) == folder_before
    again = Settings()
    assert again.active_model_path() == str(my_model)
    assert again.threshold_for("my-model-version") == 0.42

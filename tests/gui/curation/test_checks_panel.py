"""The alignment-check panel (keys, clicks, verdict, model layer) and the agreement and export
dialogs, driven through their widgets; asserts on the database and on written files."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QVBoxLayout, QWidget

from mmla_app import keymap
from mmla_app.curation.checks_panel import ChecksPanel
from mmla_app.runtime.project import Project
from mmla_core.store.db import open_store
from mmla_core.store.labels import set_check_answer, set_label

pytestmark = pytest.mark.gui
WAIT = 15_000  # a write on the writer thread, then a read: seconds on a loaded machine


def answers_of(db_path, clip_id: int, annotator: str = "alice") -> dict[str, str]:
    with open_store(db_path) as store:
        rows = store.query("SELECT check_key, answer, source FROM check_answers "
                           "WHERE clip_id = ? AND annotator = ?", (clip_id, annotator))
    assert all(r["source"] == "human" for r in rows)
    return {r["check_key"]: r["answer"] for r in rows}


@pytest.fixture
def host(qtbot, tiny_project, project_of):
    window = QWidget()
    window.panel = ChecksPanel(window)
    QVBoxLayout(window).addWidget(window.panel)
    bindings = keymap.current_bindings()
    for action_id, answer in (("check_yes", "yes"), ("check_no", "no"),
                              ("check_unsure", "unsure")):
        QShortcut(QKeySequence(bindings[action_id]), window,
                  lambda a=answer: window.panel.answer_current(a))
    qtbot.addWidget(window)
    window.resize(420, 700)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    window.panel.set_context(tiny_project.db_path, "alice",
                             project_of(tiny_project.db_path).runner)
    return window


def show_clip(qtbot, panel: ChecksPanel, clip_id: int) -> None:
    panel.set_clip(clip_id)
    qtbot.waitUntil(lambda: panel.state is not None and panel.state.clip_id == clip_id,
                    timeout=WAIT)


def test_the_four_checks_show_what_is_played_and_start_at_the_first(host, qtbot, tiny_project):
    panel = host.panel
    with qtbot.waitSignal(panel.current_check_changed, timeout=10_000) as signal:
        panel.set_clip(tiny_project.clip_ids[0])
    assert signal.args == ["visual_only", "muted"]
    assert [r.check.key for r in panel.rows] == ["visual_only", "audio_only", "full_visual",
                                                 "full_audio"]
    assert panel.rows[0].property("current") == "true"
    assert [b.text() for b in panel.rows[0].buttons.values()] == ["Yes (Y)", "No (N)",
                                                                  "Unsure (U)"]
    assert panel.verdict_label.text() == "Open · 0 of 4"
    assert not panel.accept_model_button.isEnabled()


def test_y_n_u_answer_and_advance_and_the_verdict_follows(host, qtbot, tiny_project):
    panel, clip = host.panel, tiny_project.clip_ids[0]
    show_clip(qtbot, panel, clip)
    shown = []
    panel.current_check_changed.connect(lambda key, what: shown.append(what))
    for key in (Qt.Key.Key_Y, Qt.Key.Key_U):
        qtbot.keyClick(host, key)
    assert shown == ["black_frames", "full"] and panel.current == 2
    qtbot.waitUntil(lambda: answers_of(tiny_project.db_path, clip) == {
        "visual_only": "yes", "audio_only": "unsure"}, timeout=WAIT)
    assert panel.verdict_label.text() == "Open · 2 of 4"
    with qtbot.waitSignal(panel.changed, timeout=10_000):
        qtbot.keyClick(host, Qt.Key.Key_N)
    assert panel.verdict() == "reject" and panel.verdict_label.text() == "Reject"
    qtbot.keyClick(host, Qt.Key.Key_Y)
    assert panel.current == 3  # stays on the last check
    qtbot.mouseClick(panel.rows[1].buttons["yes"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.rows[2].buttons["yes"], Qt.MouseButton.LeftButton)
    assert panel.verdict_label.text() == "Accept"
    qtbot.waitUntil(lambda: answers_of(tiny_project.db_path, clip) == dict.fromkeys(
        ("visual_only", "audio_only", "full_visual", "full_audio"), "yes"), timeout=WAIT)
    assert panel.rows[1].buttons["yes"].isChecked()


def test_model_answers_are_a_separate_layer_that_can_be_accepted(host, qtbot, tiny_project):
    panel, clip = host.panel, tiny_project.clip_ids[1]
    with open_store(tiny_project.db_path) as store:
        set_check_answer(store, clip, "visual_only", "no", "alice")
        set_check_answer(store, clip, "audio_only", "yes", "bob")
        for key in ("visual_only", "audio_only", "full_visual"):
            set_check_answer(store, clip, key, "yes", "omni", source="model", confidence=0.87)
    show_clip(qtbot, panel, clip)
    assert panel.current == 1  # picks up at the first check without a Yes/No
    assert panel.rows[0].layer.text() == "model omni: yes · 87%"
    assert "bob: yes" in panel.rows[1].layer.text()
    assert panel.rows[0].buttons["no"].isChecked()
    assert not panel.rows[1].buttons["yes"].isChecked()  # the model's answer is not mine
    assert panel.accept_model_button.isEnabled()
    qtbot.mouseClick(panel.accept_model_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: answers_of(tiny_project.db_path, clip) == {
        "visual_only": "no", "audio_only": "yes", "full_visual": "yes"}, timeout=WAIT)
    qtbot.waitUntil(lambda: not panel.accept_model_button.isEnabled(), timeout=WAIT)


def test_custom_check_list_and_no_clip(host, qtbot, tiny_project):
    from mmla_core.store.checks import set_dataset_checks

    with open_store(tiny_project.db_path) as store:
        set_dataset_checks(store, tiny_project.dataset_id, [("lips", "Lips in sync?")])
    panel = host.panel
    show_clip(qtbot, panel, tiny_project.clip_ids[2])
    assert [r.check.key for r in panel.rows] == ["lips"]
    qtbot.keyClick(host, Qt.Key.Key_Y)
    qtbot.waitUntil(lambda: answers_of(tiny_project.db_path, tiny_project.clip_ids[2]) == {
        "lips": "yes"}, timeout=WAIT)
    assert panel.verdict_label.text() == "Accept"
    panel.set_clip(None)
    assert panel.answer_current("yes") is False and panel.empty_label.isVisible()


# --- agreement and export dialogs ----------------------------------------------------------------

def test_agreement_dialog_computes_and_opens_a_disagreement(qtbot, tiny_project):
    from mmla_app.curation.agreement_dialog import AgreementDialog

    meld = 1
    with open_store(tiny_project.db_path) as store:
        for clip, (a, b) in zip(tiny_project.clip_ids, [("joy", "joy"), ("fear", "anger"),
                                                        ("neutral", "neutral")], strict=True):
            set_label(store, clip, meld, a, "alice")
            set_label(store, clip, meld, b, "bob")
    dialog = AgreementDialog(Project(tiny_project.db_path, ""))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.annotator_list.count() == 3, timeout=10_000)
    assert dialog.chosen_annotators() == ["alice", "bob"]  # the source labels start unticked
    with qtbot.waitSignal(dialog.computed, timeout=10_000):
        qtbot.mouseClick(dialog.compute_button, Qt.MouseButton.LeftButton)
    assert dialog.results.item(0, 1).text() == "MELD"
    assert dialog.results.item(0, 2).text() == "cohen"
    assert dialog.disagreements.rowCount() == 1
    item = dialog.disagreements.item(0, 1)
    assert item.text() == "utt_b"
    with qtbot.waitSignal(dialog.clip_requested) as signal:
        rect = dialog.disagreements.visualItemRect(item)
        qtbot.mouseClick(dialog.disagreements.viewport(), Qt.MouseButton.LeftButton,
                         pos=rect.center())
        qtbot.mouseDClick(dialog.disagreements.viewport(), Qt.MouseButton.LeftButton,
                          pos=rect.center())
    assert signal.args == [tiny_project.clip_ids[1]]
    dialog.set_annotators(["alice"])
    assert not dialog.compute_button.isEnabled()
    dialog.close()


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "eaf"])
def test_export_dialog_writes_in_the_background(qtbot, tiny_project, tmp_path, fmt):
    from mmla_app.curation.export_dialog import ExportDialog

    dialog = ExportDialog(Project(tiny_project.db_path, "alice"))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.dataset_combo.count() == 1, timeout=10_000)
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData(fmt))
    assert dialog.mine_box.isVisible() == (fmt == "eaf")
    target = tmp_path / ("eaf" if fmt == "eaf" else f"out.{fmt}")
    dialog.target_edit.setText(str(target))
    with qtbot.waitSignal(dialog.exported, timeout=10_000) as signal:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    if fmt == "eaf":
        assert sorted(p.name for p in target.glob("*.eaf")) == ["train_utt_a.eaf",
                                                                 "train_utt_b.eaf"]
        assert "1 no_media" in signal.args[0]
    elif fmt == "jsonl":
        rows = [json.loads(x) for x in target.read_text().splitlines()]
        assert [r["labels"]["MELD"] for r in rows] == ["surprise", "joy", "neutral"]
    else:
        assert target.read_text().splitlines()[0].endswith("label:MELD,verdict,reviewed_by")


def test_agreement_with_one_annotator_says_how_to_get_a_second(qtbot, tiny_project):
    """A new project has only the imported labels: 'tick two or more annotators' cannot be
    done there; the dialog says agreement needs a second annotator and how to become one."""
    from mmla_app.curation.agreement_dialog import AgreementDialog

    dialog = AgreementDialog(Project(tiny_project.db_path, "carol"))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.annotator_list.count() == 1, timeout=10_000)
    qtbot.waitUntil(lambda: "second annotator" in dialog.status.text(), timeout=10_000)
    assert "Settings" in dialog.status.text() and "--annotator" in dialog.status.text()
    assert not dialog.compute_button.isEnabled()
    dialog.reject()
    with open_store(tiny_project.db_path) as store:
        set_label(store, tiny_project.clip_ids[0], 1, "joy", "carol")
    dialog = AgreementDialog(Project(tiny_project.db_path, "carol"))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.annotator_list.count() == 2, timeout=10_000)
    assert dialog.status.text() == "Tick two or more annotators."  # carol + the source labels
    dialog.set_annotators(["carol", "import"])
    assert dialog.compute_button.isEnabled() and dialog.status.text() == ""
    dialog.reject()


def test_export_dialog_reports_failures(qtbot, tiny_project, tmp_path):
    from mmla_app.curation.export_dialog import ExportDialog

    dialog = ExportDialog(Project(tiny_project.db_path, "alice"))
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.dataset_combo.count() == 1, timeout=10_000)
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("llamafactory"))
    (tmp_path / "lf").mkdir()
    (tmp_path / "lf" / "dataset_info.json").write_text("not json")
    dialog.target_edit.setText(str(tmp_path / "lf"))
    dialog.task_combo.setCurrentText("MELD")
    with open_store(tiny_project.db_path) as store:
        from mmla_core.store.review import mark_reviewed

        mark_reviewed(store, tiny_project.clip_ids[0], "alice", "accept")
    with qtbot.waitSignal(dialog.failed, timeout=10_000) as signal:
        dialog.start_export()
    assert "dataset_info.json" in signal.args[0]
    assert "Export failed" in dialog.status.text() and dialog.export_button.isEnabled()


def test_an_export_goes_on_after_its_dialog_closed_and_is_logged(qtbot, tiny_project, tmp_path):
    from mmla_app.curation.export_dialog import ExportDialog
    from mmla_core.store.exports import list_exports

    project = Project(tiny_project.db_path, "alice")
    dialog = ExportDialog(project)
    assert dialog.runner.runner is project.runner  # the project's: it outlives the dialog
    dialog.show()
    qtbot.waitUntil(lambda: dialog.dataset_combo.count() == 1, timeout=10_000)
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("csv"))
    target = tmp_path / "labels.csv"
    dialog.target_edit.setText(str(target))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    dialog.close()
    dialog.deleteLater()  # gone before the export's answer comes back
    qtbot.waitUntil(target.is_file, timeout=10_000)
    with open_store(tiny_project.db_path) as store:
        qtbot.waitUntil(lambda: len(list_exports(store)) == 1, timeout=10_000)
        (logged,) = list_exports(store)
    assert logged["path"] == str(target) and logged["dataset_id"] == tiny_project.dataset_id
    project.close()


def test_the_side_panels_read_through_the_projects_runner_only(window, tiny_project):
    assert window.annotation._runner is window.runner is window.project.runner
    assert window.checks._runner is window.runner
    panel = ChecksPanel()  # a lone panel gets no runner of its own: it is handed the project's
    with pytest.raises(ValueError, match="project's runner"):
        panel.set_context(tiny_project.db_path, "alice", None)
    panel.deleteLater()

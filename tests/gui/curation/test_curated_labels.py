"""Curated labels are the truth (issue 13), driven through the real window by keys: a relabel
and a reject reach the Train preview, a LLaMA-Factory export, an ELAN export and an evaluation
without a restart; and the agreement dialog's disagreement list adjudicates by label keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from mmla_app.runtime.project import Project
from mmla_app.runtime.write_queue import write_queue
from mmla_core.store.db import open_store
from mmla_core.store.label_policy import label_of, resolve_labels
from mmla_core.store.labels import set_label, undo
from tests.support.fake_engine import model_folder

pytestmark = pytest.mark.gui
WAIT = 30_000


def press(qtbot, window, key) -> None:
    qtbot.keyClick(window.browser.table, key)


def curate_by_keys(qtbot, window, project) -> tuple[int, int]:
    """utt_a (imported: surprise) relabelled joy (key 5); utt_b rejected by a No check."""
    relabelled, rejected = project.clip_ids[0], project.clip_ids[1]
    qtbot.waitUntil(lambda: window.current_row is not None
                    and window.current_row.id == relabelled, timeout=WAIT)
    press(qtbot, window, Qt.Key.Key_5)
    qtbot.waitUntil(lambda: window.annotation.status.text() == "Saved: MELD = joy",
                    timeout=WAIT)
    press(qtbot, window, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: window.current_row.id == rejected, timeout=WAIT)
    qtbot.waitUntil(lambda: window.checks.state is not None, timeout=WAIT)
    press(qtbot, window, Qt.Key.Key_N)       # the first check: No
    qtbot.waitUntil(lambda: not window.checks.has_unsaved(), timeout=WAIT)
    press(qtbot, window, Qt.Key.Key_Return)  # reviewed: the No makes it a reject
    write_queue().drain()
    with open_store(project.db_path) as store:
        verdict = store.scalar("SELECT verdict FROM clip_reviews WHERE clip_id = ?", (rejected,))
    assert verdict == "reject"
    return relabelled, rejected


def train_preview(qtbot, project) -> str:
    from mmla_app.training.train_dialog import TrainDialog

    dialog = TrainDialog(project)
    qtbot.addWidget(dialog)
    dialog.show()
    form = dialog.form
    qtbot.waitUntil(lambda: form.task_list.count() > 0 and form.model_combo.count() > 0,
                    timeout=WAIT)
    for i in range(form.task_list.count()):
        item = form.task_list.item(i)
        if item.data(Qt.ItemDataRole.UserRole) == "MELD":
            item.setCheckState(Qt.CheckState.Checked)
    with qtbot.waitSignal(dialog.previewed, timeout=WAIT) as shown:
        qtbot.mouseClick(dialog.preview_button, Qt.MouseButton.LeftButton)
    text = dialog.samples_view.toPlainText() + "\n" + dialog.labels_line.text()
    assert [s.label for s in shown.args[0]["samples"]] == ["joy"]  # utt_b rejected: left out
    dialog.close()
    return text


def llamafactory_export(qtbot, db_path, out: Path) -> tuple[list[dict], str]:
    from mmla_app.curation.export_dialog import ExportDialog

    dialog = ExportDialog(Project(db_path, "alice"))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.dataset_combo.count() == 1, timeout=WAIT)
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("llamafactory"))
    dialog.task_combo.setCurrentText("MELD")
    dialog.mode_combo.setCurrentText("text")
    dialog.splits_edit.setText("train")
    dialog.target_edit.setText(str(out))
    with qtbot.waitSignal(dialog.exported, timeout=WAIT) as signal:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    records = json.loads(next(out.glob("*_llamafactory.json")).read_text(encoding="utf-8"))
    dialog.close()
    return records, signal.args[0]


def elan_export(qtbot, db_path, out: Path) -> dict[str, dict[str, str]]:
    """The Export dialog's ELAN export: {file name: {tier id: its value}}."""
    import xml.etree.ElementTree as ET

    from mmla_app.curation.export_dialog import ExportDialog

    dialog = ExportDialog(Project(db_path, "alice"))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.dataset_combo.count() == 1, timeout=WAIT)
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("eaf"))
    dialog.target_edit.setText(str(out))
    with qtbot.waitSignal(dialog.exported, timeout=WAIT):
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    dialog.close()
    tiers = {}
    for path in sorted(out.glob("*.eaf")):
        root = ET.parse(path).getroot()
        tiers[path.name] = {tier.get("TIER_ID"): tier.findtext(".//ANNOTATION_VALUE")
                            for tier in root.iter("TIER")}
    return tiers


def evaluation(qtbot, project, tmp_path) -> tuple[list[dict], str]:
    from mmla_app.evaluate.evaluate_dialog import EvaluateDialog

    dialog = EvaluateDialog(project)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.add_model(str(model_folder(tmp_path / "tiny-model")))
    form = dialog.form
    qtbot.waitUntil(lambda: form.model_combo.count() == 1 and form.task_combo.count() > 0,
                    timeout=WAIT)
    form.split_combo.setCurrentIndex(form.split_combo.findData("train"))
    with qtbot.waitSignal(dialog.run_finished, timeout=WAIT) as finished:
        qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "ACC" in dialog.status.text(), timeout=WAIT)
    write_queue().drain()
    with open_store(project.db_path) as store:
        rows = store.query("SELECT clip_id, gold_label FROM predictions WHERE run_id = ?",
                           (finished.args[0],))
    status = dialog.status.text()
    dialog.reject()
    return rows, status


def test_relabel_and_reject_by_keys_reach_training_export_and_evaluation(
        make_window, tiny_project, qtbot, tmp_path, fake_engines):
    window = make_window(tiny_project.db_path)
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 3, timeout=WAIT)
    relabelled, rejected = curate_by_keys(qtbot, window, tiny_project)

    rows, status = evaluation(qtbot, window.project, tmp_path)  # also registers the model
    assert rows == [{"clip_id": relabelled, "gold_label": "joy"}]
    assert "person 1" in status and "left out: 1 rejected" in status

    text = train_preview(qtbot, window.project)
    assert "emotion: joy" in text and f"clip {rejected} " not in text
    assert "labels: curated (adjudicated 0, person 1" in text and "1 rejected" in text

    records, summary = llamafactory_export(qtbot, tiny_project.db_path, tmp_path / "lf")
    assert [(r["id"], r["conversations"][1]["value"]) for r in records] == [
        ("utt_a", "emotion: joy")]
    assert "1 rejected" in summary and "person 1" in summary
    with open_store(tiny_project.db_path) as store:
        logged = store.query("SELECT format, labels_json FROM exports")
    assert logged[-1]["format"] == "llamafactory"
    assert json.loads(logged[-1]["labels_json"])["left_out"]["rejected"] == 1

    elan = elan_export(qtbot, tiny_project.db_path, tmp_path / "eaf")
    relabelled_file = next(name for name in elan if name.endswith("utt_a.eaf"))
    assert elan[relabelled_file]["MELD"] == "joy"       # the curated tier: the curator's label
    assert not any(name.endswith("utt_b.eaf") for name in elan)  # rejected: left out


def _agreement_computed(qtbot, project):
    """Tools > Agreement… for `project`'s annotator, its three annotators listed, computed."""
    from mmla_app.curation.agreement_dialog import AgreementDialog

    dialog = AgreementDialog(project)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.annotator_list.count() == 3, timeout=WAIT)
    with qtbot.waitSignal(dialog.computed, timeout=WAIT):
        qtbot.mouseClick(dialog.compute_button, Qt.MouseButton.LeftButton)
    return dialog


def test_agreement_disagreement_list_adjudicates_by_label_keys(qtbot, tiny_project):

    meld = 1
    first, second = tiny_project.clip_ids[0], tiny_project.clip_ids[1]
    with open_store(tiny_project.db_path) as store:
        for clip, (a, b) in ((first, ("fear", "anger")), (second, ("joy", "sadness"))):
            set_label(store, clip, meld, a, "alice")
            set_label(store, clip, meld, b, "bob")
    dialog = _agreement_computed(qtbot, Project(tiny_project.db_path, "carol"))
    assert dialog.disagreements.rowCount() == 2
    assert dialog.disagreements.item(0, 4).text() == "anger"  # the latest person's, for now
    dialog.disagreements.setFocus()
    dialog.disagreements.setCurrentCell(0, 0)
    assert "3 fear" in dialog.status.text()  # the keys, as in the label pane
    with qtbot.waitSignal(dialog.adjudicated, timeout=WAIT) as settled:
        qtbot.keyClick(dialog.disagreements, Qt.Key.Key_3)
    assert settled.args == [first, "MELD", "fear"]
    assert dialog.disagreements.item(0, 4).text() == "fear (adjudicated)"
    assert dialog.disagreements.currentRow() == 1  # on to the next disagreement
    with open_store(tiny_project.db_path) as store:
        assert label_of(store, first, meld) == "fear"
        assert resolve_labels(store, task_id=meld).kinds[(first, meld)] == "adjudicated"
        assert undo(store, "carol").owner == "adjudicated:carol"  # Edit > Undo takes it back
        assert label_of(store, first, meld) == "anger"
    dialog.reject()


def test_a_label_made_elsewhere_keeps_the_agreement_results_line(qtbot, tiny_project,
                                                                 project_of):
    """Labels change while the results are shown (the main window, the CLI): the dialog lists
    the new annotator and still says how many disagreements there are (the refresh used to
    blank the line: enough annotators were ticked, so it cleared the tick hint it thought was
    there)."""
    from mmla_app.runtime.change_bus import change_bus
    from mmla_core.changes import LABELS, Changes

    first = tiny_project.clip_ids[0]
    with open_store(tiny_project.db_path) as store:
        set_label(store, first, 1, "fear", "alice")
        set_label(store, first, 1, "anger", "bob")
    dialog = _agreement_computed(qtbot, project_of(tiny_project.db_path, "carol"))
    said = dialog.status.text()
    assert said.startswith("1 disagreement(s) to adjudicate")
    with open_store(tiny_project.db_path) as store:  # another connection
        set_label(store, first, 1, "joy", "dave")
    change_bus().announce(Changes.of(LABELS), None)  # as the change poll does
    qtbot.waitUntil(lambda: dialog.annotator_list.count() == 4, timeout=WAIT)
    assert dialog.status.text() == said
    dialog.reject()


def test_training_tab_names_the_labels_a_job_trained_on():
    from mmla_app.training.training_panel import _labels_line

    record = {"source": "majority", "counts": {"unresolved": 2, "majority": 5},
              "include_rejected": False, "only_accepted": True,
              "left_out": {"rejected": 1, "not_accepted": 3}}
    assert _labels_line({"labels_json": json.dumps(record)}) == (
        "labels: majority (majority 5, unresolved 2); left out: 1 rejected, 3 not accepted "
        "(only accepted clips kept)")
    assert _labels_line({"labels_json": None}) == "labels: not recorded"  # before m006

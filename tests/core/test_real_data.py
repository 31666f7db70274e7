"""End-to-end checks on the real chest X-rays in ../shared/data/chest_xray (skipped without them).

Slow: a real (small) training run and evaluations on the 624-image official test split.
"""

from __future__ import annotations

import pytest

from pneumo_desktop import paths
from pneumo_desktop.core.classifier import Classifier
from pneumo_desktop.core.model_evaluation import run_evaluation
from pneumo_desktop.core.training import TrainingConfig

pytestmark = pytest.mark.slow


def test_training_on_train_mini_generalises_to_the_test_split(shared_data, synth, tmp_path, record_property):
    config = TrainingConfig(epochs=4, seed=0)  # default widths (32, 64, 128, 128), 150 px
    assert config.input_size == 150 and config.widths == (32, 64, 128, 128)
    events, finished = synth.run_training(shared_data / "train_mini", config, cache_dir=tmp_path / "cache")
    clf = finished.classifier
    data = clf.metadata["training"]["data"]
    assert data["n_unreadable"] == 0
    assert sum(data["train_counts"].values()) + sum(data["val_counts"].values()) == 301

    path = tmp_path / "mini.pneumo"
    clf.save(path)
    result = run_evaluation(Classifier.load(path), shared_data / "test")
    report = result.report
    summary = {k: report[k] for k in ("n", "n_refused", "accuracy", "auc", "recall", "specificity")}
    record_property("train_mini_test_metrics", summary)
    print(f"\ntrain_mini, 4 epochs -> test split: {summary}")
    assert report["n"] == 624
    assert report["accuracy"] >= 0.70, summary
    assert report["auc"] >= 0.75, summary
    assert report["n_refused"] <= 0.05 * report["n"], f"the gate refused real X-rays: {summary}"


@pytest.mark.parametrize("model", ["default", "ensemble", "subtype"])
def test_shipped_model_reproduces_its_recorded_test_metrics(shared_data, record_property, model):
    path = {"default": paths.DEFAULT_MODEL_PATH, "ensemble": paths.ENSEMBLE_MODEL_PATH,
            "subtype": paths.SUBTYPE_MODEL_PATH}[model]
    if not path.is_file():
        pytest.skip(f"no shipped model at {path}")
    clf = Classifier.load(path)
    recorded = clf.metadata.get("test_metrics")
    if not recorded:
        pytest.skip(f"{path.name}'s metadata has no test_metrics (trained without --test-dir)")
    report = run_evaluation(clf, shared_data / "test").report
    record_property(f"{model}_model_test_metrics", {k: report[k] for k in ("n", "accuracy", "auc")})
    print(f"\n{path.name} on the test split: accuracy {report['accuracy']:.4f} (recorded "
          f"{recorded['accuracy']:.4f}), AUC {report['auc']:.4f} (recorded {recorded['auc']:.4f})")
    assert report["n"] == recorded["n"]
    # The unfamiliar-image gate, chest X-ray detector included, must let real X-rays through.
    assert report["n_refused"] < 0.01 * report["n"], f"{report['n_refused']} real X-rays refused"
    assert report["accuracy"] == pytest.approx(recorded["accuracy"], abs=0.005)
    assert report["auc"] == pytest.approx(recorded["auc"], abs=0.005)

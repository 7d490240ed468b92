"""The compare step on an MLflow store holding runs with chosen metric values (no training), and
through `mlflow run`."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest

from frenk.comparison import REPORT_VERSION
from frenk.config import CompareConfig
from frenk.steps import compare
from frenk.tracking import search

from ..helpers import mlflow_run

A = [0.80, 0.82, 0.81, 0.83, 0.84]  # as in tests/unit/test_comparison.py: paired t p=0.0085809
B = [0.79, 0.80, 0.80, 0.81, 0.81]


def _log_runs(system, values, group="hr-binary", digest="d1", folds=None):
    for seed, v in enumerate(values):
        tags = {"frenk.step": "train", "frenk.group": group, "frenk.model": system, "frenk.seed": str(seed),
                "frenk.data_digest": digest}
        with mlflow.start_run(run_name=f"{system}-s{seed}", tags=tags):
            metrics = {"test_macro_f1": v, "test_accuracy": v + 0.01, "final_val_macro_f1": v}
            for k, f in enumerate(folds or []):
                metrics[f"test_fold.{k}.macro_f1"] = v + f
            mlflow.log_metrics(metrics)


def test_compare_step_reads_runs_by_tag_and_logs_the_report(mlflow_store):
    _log_runs("bertic", A, folds=[0.0, 0.01, -0.01])
    _log_runs("xlmr", B, folds=[0.0, 0.0, 0.0])
    _log_runs("other-group", [0.1, 0.2], group="sl-binary")
    with mlflow.start_run(tags={"frenk.step": "train", "frenk.group": "hr-binary", "frenk.model": "xlmr", "frenk.seed": "99"}) as broken:
        pass
    mlflow.MlflowClient().set_terminated(broken.info.run_id, "FAILED")

    # the runs share seeds by design; no margin, so that the known p decides (no predictions: seed level)
    outcome = compare(CompareConfig(group="hr-binary", pairing="seed", min_difference=0.0))
    report = outcome.report
    assert report.systems == ("bertic", "xlmr")
    macro = [c for c in report.comparisons if c.metric == "macro_f1"][0]
    assert macro.verdict.p_value == pytest.approx(0.0085809, abs=5e-8)
    assert macro.fold_view.n_folds == 3
    assert any(s.reason == "status FAILED" for s in report.skipped)

    run = mlflow.get_run(outcome.run_id)
    assert run.data.tags["frenk.step"] == "compare" and run.data.tags["frenk.best_system"] == "bertic"
    used = set(run.data.tags["frenk.compared_runs"].split(","))
    assert len(used) == 10
    # the statistics are one table; each pair's p, difference and interval are metrics too (they chart
    # across compare runs); the verdict is the run's description
    assert run.data.metrics["compare/macro_f1/bertic_vs_xlmr/p_value"] == pytest.approx(0.0085809, abs=5e-8)
    assert run.data.metrics["compare/macro_f1/bertic_vs_xlmr/difference"] == pytest.approx(0.018)
    assert run.data.metrics["compare/macro_f1/bertic_vs_xlmr/ci_low"] > 0
    table = mlflow.artifacts.load_dict(f"runs:/{outcome.run_id}/comparisons.json")
    row = next(dict(zip(table["columns"], r, strict=False)) for r in table["data"]
               if dict(zip(table["columns"], r, strict=False))["metric"] == "macro_f1")
    assert (row["a"], row["b"], row["better"], row["effects_of"]) == ("bertic", "xlmr", "bertic", "bertic over xlmr")
    assert row["p_value"] == pytest.approx(0.0085809, abs=5e-8) and row["cohens_d"] == pytest.approx(macro.effect.cohens_d)
    assert "bertic is better than xlmr" in run.data.tags["mlflow.note.content"]
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(outcome.run_id)}
    assert {"report.md", "report.json", "plots", "comparisons.json", "results_table.md", "results_table.tex",
            "results_table.json"} <= artifacts
    saved = json.loads(Path(mlflow.artifacts.download_artifacts(run_id=outcome.run_id, artifact_path="report.json")).read_text())
    assert saved["best_system"] == "bertic" and saved["version"] == REPORT_VERSION
    assert saved["selection"]["group"] == "hr-binary" and saved["comparisons"][0]["recommended"]["better"] == "bertic"
    again = search.load_report(outcome.run_id)  # what publish and main read back
    assert json.dumps(again.to_dict()) == json.dumps(outcome.report.to_dict())
    assert "bertic is better than xlmr" in outcome.markdown


@pytest.mark.slow
def test_mlflow_run_compare_end_to_end(mlflow_store, tmp_path):
    _log_runs("bertic", A)
    _log_runs("xlmr", B)
    ok = mlflow_run("compare", {"group": "hr-binary", "pairing": "seed", "min_difference": 0}, mlflow_store, tmp_path)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "bertic is better than xlmr on macro_f1 (paired t-test, p=0.008581" in ok.stdout
    bad = mlflow_run("compare", {"group": "nonesuch"}, mlflow_store, tmp_path)
    assert bad.returncode != 0 and "frenk: error: no runs match" in bad.stderr and "Traceback" not in bad.stderr


def _log_predicted_runs(system, n, labels, accuracy, rng, start=0):
    """Runs with predictions.parquet on the same test ids (what train logs), and their metrics."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import f1_score

    base = np.where(rng.random(len(labels)) < accuracy, labels, 1 - labels)
    for seed in range(start, start + n):
        pred = base.copy()
        flip = rng.choice(len(labels), 3, replace=False)
        pred[flip] = 1 - pred[flip]
        tags = {"frenk.step": "train", "frenk.group": "hr-binary", "frenk.model": system, "frenk.seed": str(seed),
                "frenk.data_digest": "d1"}
        with mlflow.start_run(run_name=f"{system}-s{seed}", tags=tags), __import__("tempfile").TemporaryDirectory() as tmp:
            mlflow.log_metrics({"test_macro_f1": f1_score(labels, pred, average="macro"),
                                "test_accuracy": float((pred == labels).mean())})
            path = Path(tmp) / "predictions.parquet"
            pd.DataFrame({"id": np.arange(len(labels)), "label": labels, "pred": pred}).to_parquet(path)
            mlflow.log_artifact(str(path))


def test_verdicts_over_seeds_and_test_comments_and_counted_looks(mlflow_store):
    """Every run logged predictions: the verdict is at the two-level; a compare of the same runs
    again is the same look, one with another run is look 2 at alpha / 4; the tags say so."""
    import numpy as np

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 1500)
    _log_predicted_runs("bertic", 3, labels, 0.85, rng)
    _log_predicted_runs("xlmr", 3, labels, 0.78, rng)
    first = compare(CompareConfig(group="hr-binary", metrics="macro_f1"))
    c = first.report.comparisons[0]
    assert c.verdict.level == "seeds and test comments" and c.two_level.n_comments == 1500
    assert c.verdict.call == "better" and first.report.best_system == "bertic"
    assert (first.report.look, first.report.alpha_used) == (1, 0.025) and first.report.decisions == {"d1": 1}
    assert c.two_level.confidence == pytest.approx(0.975)
    # #22.4: the stability of the predictions, per comment (stability.json) and the least stable (flips.md)
    stability = first.report.stability
    assert stability.n_comments == 1500 and set(stability.systems) == {"bertic", "xlmr"}
    table = mlflow.artifacts.load_dict(f"runs:/{first.run_id}/stability.json")
    assert table["columns"][:4] == ["id", "text", "label", "label_name"] and len(table["data"]) == 1500
    assert "bertic.votes.1" in table["columns"] and "xlmr.agreement" in table["columns"]
    flips = mlflow.artifacts.load_text(f"runs:/{first.run_id}/flips.md")
    assert flips.startswith("# Prediction stability") and "texts not shown: the runs logged no local test file" in flips
    assert f"{100 * stability.systems['bertic'].flip_share:.1f}% of comments for bertic (3 runs)" in flips
    tags = mlflow.get_run(first.run_id).data.tags
    assert tags["frenk.look"] == "1" and tags["frenk.best_system"] == "bertic"
    again = compare(CompareConfig(group="hr-binary", metrics="macro_f1"))
    assert again.report.look == 1 and again.report.decisions == {"d1": 1}  # the same runs: the same look
    _log_predicted_runs("xlmr", 1, labels, 0.78, rng, start=3)
    later = compare(CompareConfig(group="hr-binary", metrics="macro_f1"))
    assert (later.report.look, later.report.alpha_used) == (2, 0.0125) and later.report.decisions == {"d1": 2}
    assert mlflow.get_run(later.run_id).data.tags["frenk.look"] == "2" and "Look 2" in later.markdown


def test_the_texts_of_the_test_comments_come_from_the_prepared_folder_only_while_it_is_unchanged(
        mlflow_store, prepared_sample, tmp_path):
    """#22.4: stability.json's texts are read from the folder a run logged as its test input, and
    only while it holds the split the run used (its digest)."""
    import shutil

    from frenk.data.prepared import load_prepared
    from frenk.tracking import comment_texts, results

    folder = tmp_path / "hr"
    shutil.copytree(prepared_sample, folder)
    data = load_prepared(folder)
    with mlflow.start_run() as run:
        results.log_prepared_inputs(data, folder)
    texts, names, source = comment_texts.comment_texts([run.info.run_id])
    test = data.splits["test"]
    assert texts == dict(zip(test["id"], test["text"], strict=True)) and source == f"texts from {folder / 'test.parquet'}"
    assert names == {0: "Acceptable", 1: "Offensive"}
    test.iloc[1:].to_parquet(folder / "test.parquet", index=False)  # the split changed since the run
    texts, _, source = comment_texts.comment_texts([run.info.run_id])
    assert texts == {} and source.endswith("no longer holds the test split the runs used (its digest differs)")
    with mlflow.start_run() as bare:  # data prepared in-process: no file to read
        pass
    assert comment_texts.comment_texts([bare.info.run_id])[2].startswith("texts not shown: the runs logged no local")

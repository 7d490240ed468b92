"""Issue 22 point 3: evaluate scores a registered version on another language's prepared folder as
a run of its own (the metrics of its predictions, recomputed here by counting), linked from the
version; a file without labels gets predictions only; a bad input is one line and no run."""

from __future__ import annotations

import os
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from frenk.cli import command
from frenk.config import EvaluateConfig, TrainConfig
from frenk.data import PreprocessOptions, load_prepared, prepare, write_prepared
from frenk.steps import evaluate, train

from ..helpers import FAST, all_runs

NOTE = "mlflow.note.content"


@pytest.fixture(scope="module")
def store(tmp_path_factory, prepared_sample):
    """A tiny model trained on the Croatian sample and registered (frenk-hr version 1), and the
    Slovenian sample prepared."""
    root = tmp_path_factory.mktemp("evaluate")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root}/mlflow.db")
        for var in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
            mp.delenv(var, raising=False)
        mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
        trained = train(TrainConfig(model="tiny", data=str(prepared_sample), args=FAST))
        sl = write_prepared(prepare(PreprocessOptions(lang="sl", source="sample")), root / "data" / "sl")
        yield {"root": root, "trained": trained, "sl": sl}


def _macro_f1_by_counting(gold: np.ndarray, pred: np.ndarray) -> float:
    """Macro-F1 over the classes present in the gold labels or predicted, from the counts."""
    scores = []
    for c in sorted(set(gold) | set(pred)):
        tp = int(((gold == c) & (pred == c)).sum())
        fp, fn = int(((gold != c) & (pred == c)).sum()), int(((gold == c) & (pred != c)).sum())
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return sum(scores) / len(scores)


@pytest.mark.slow
def test_evaluate_scores_a_version_on_another_language_and_the_version_links_the_run(store):
    client = mlflow.MlflowClient()
    before = client.get_model_version("frenk-hr", "1").description
    outcome = evaluate(EvaluateConfig(model="models:/frenk-hr/1", data=str(store["sl"])))
    run = client.get_run(outcome.run_id)
    tags, metrics = run.data.tags, run.data.metrics
    sl = load_prepared(store["sl"])
    assert tags["frenk.step"] == "evaluate" and tags["frenk.evaluated_model"] == "frenk-hr"
    assert tags["frenk.model_version"] == "1" and tags["frenk.data_digest"] == sl.data_digest
    assert tags["frenk.lang"] == "sl" and tags["frenk.evaluated_split"] == "test"
    assert tags["frenk.predictions_only"] == "false" and tags["frenk.label_mapping"] == "none"
    assert run.info.experiment_id == client.get_run(store["trained"].best.run_id).info.experiment_id

    folder = mlflow.artifacts.download_artifacts(run_id=outcome.run_id, dst_path=str(store["root"] / "got"))
    predictions = pd.read_parquet(os.path.join(folder, "predictions.parquet"))
    assert predictions["id"].tolist() == sl.splits["test"]["id"].tolist()
    gold, pred = predictions["label"].to_numpy(), predictions["pred"].to_numpy()
    assert metrics["test/accuracy"] == pytest.approx(float((gold == pred).mean()), abs=1e-12)
    assert metrics["test/macro_f1"] == pytest.approx(_macro_f1_by_counting(gold, pred), abs=1e-12)
    assert metrics["evaluate/n_comments"] == len(sl.splits["test"])
    assert {"results.json", "results_table.md", "results_table.tex", "confusion_matrix.png"} <= set(os.listdir(folder))
    assert f"{metrics['test/macro_f1']:.4f}" in Path(folder, "results_table.md").read_text()

    again = evaluate(EvaluateConfig(model=store["trained"].best.run_id, data=str(store["sl"]), split="all"))
    version = client.get_model_version("frenk-hr", "1")
    assert version.tags["frenk.evaluate_runs"] == f"{outcome.run_id},{again.run_id}"
    assert version.description.startswith(before)  # appended, not overwritten
    for rid in (outcome.run_id, again.run_id):
        assert f"/runs/{rid}?workflowType=machine_learning)" in version.description
    assert "(all split, sl/binary)" in version.description


@pytest.mark.slow
def test_a_file_without_labels_gets_predictions_only(store):
    comments = store["root"] / "comments.csv"
    comments.write_text("id,text\nc1,Migranti su gamad\nc2,Podrška za sve obitelji\n", encoding="utf-8")
    outcome = evaluate(EvaluateConfig(model="models:/frenk-hr@candidate", data=str(comments)))
    run = mlflow.MlflowClient().get_run(outcome.run_id)
    assert outcome.predictions_only and run.data.tags["frenk.predictions_only"] == "true"
    assert not any(m.startswith("test/") for m in run.data.metrics)
    assert "predictions only" in run.data.tags[NOTE]
    path = mlflow.artifacts.download_artifacts(run_id=outcome.run_id, artifact_path="predictions.parquet",
                                               dst_path=str(store["root"] / "bare"))
    predictions = pd.read_parquet(path)
    assert predictions["id"].tolist() == ["c1", "c2"] and set(predictions["pred_name"]) <= {"Acceptable", "Offensive"}
    assert np.allclose(predictions[["prob.Acceptable", "prob.Offensive"]].sum(axis=1), 1.0)


def test_bad_input_is_one_line_and_leaves_only_the_refusal_record(mlflow_store, tmp_path, monkeypatch):
    client = mlflow.MlflowClient()
    cli = command(EvaluateConfig, evaluate)
    for args, words in ((["--model", "models:/frenk-hr/9", "--data", str(tmp_path)], "has no version 9"),
                        (["--model", "models:/frenk-hr@champion", "--data", str(tmp_path / "nope")],
                         "no such folder or file"),
                        (["--model", "frenk-hr", "--data", str(tmp_path)], "is not a model URI")):
        run = client.create_run("0")
        monkeypatch.setenv("MLFLOW_RUN_ID", run.info.run_id)
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2 and words in result.output
        assert [line for line in result.output.splitlines() if line.startswith("frenk: error:")] != []
        got = client.get_run(run.info.run_id)
        assert got.info.run_name == "evaluate-refused" and words in got.data.tags[NOTE]
    monkeypatch.delenv("MLFLOW_RUN_ID")
    assert {r.info.run_name for r in all_runs()} == {"evaluate-refused"}
    assert client.search_registered_models() == []

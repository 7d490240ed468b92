"""Comparison design and report: unit tests on run records, and the compare step on an MLflow
store holding runs with chosen metric values (no training)."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest

from frenk.comparison import CompareOptions, RunRecord, build_report, render_markdown
from frenk.config import CompareConfig
from frenk.errors import ConfigError, FrenkError
from frenk.steps import compare

from .helpers import mlflow_run

A = [0.80, 0.82, 0.81, 0.83, 0.84]
B = [0.79, 0.80, 0.80, 0.81, 0.81]


def _records(system, values, seeds=None, digest="d1", metric="test_macro_f1"):
    seeds = seeds or range(len(values))
    return [RunRecord(f"{system}-{s}", system, str(s), digest, {metric: v, "test_accuracy": v}) for s, v in zip(seeds, values)]


def test_paired_design_and_known_numbers():
    report = build_report(_records("bertic", A) + _records("xlmr", B), CompareOptions(metrics=("macro_f1",)))
    (c,) = report["comparisons"]
    assert (c["a"], c["b"], c["design"], c["n_a"]) == ("bertic", "xlmr", "paired", 5)
    assert c["tests"]["paired_t"]["statistic"] == pytest.approx(4.8107, abs=5e-5)
    assert c["tests"]["paired_t"]["p_value"] == pytest.approx(0.0085809, abs=5e-8)
    assert c["recommended"]["test"] == "paired_t"  # differences pass Shapiro-Wilk
    assert c["recommended"]["better"] == "bertic"
    assert report["best_system"] == "bertic"
    assert c["recommended"]["verdict"].startswith("bertic is better than xlmr on macro_f1 (paired t-test, p=0.008581")
    assert report["descriptives"]["macro_f1"]["bertic"]["mean"] == pytest.approx(0.82)
    assert c["power"]["seeds_needed"] is not None
    md = render_markdown(report)
    assert "| bertic vs xlmr | paired | 5 | paired t-test | 0.008581 |" in md


def test_unpaired_when_seeds_differ():
    report = build_report(_records("a", A, seeds=range(5)) + _records("b", B, seeds=range(10, 15)),
                          CompareOptions(metrics=("macro_f1",)))
    (c,) = report["comparisons"]
    assert c["design"] == "independent"
    assert set(c["tests"]) == {"welch_t", "mann_whitney", "permutation"}


def test_non_normal_paired_differences_use_wilcoxon_and_warn_about_five_pairs():
    a = [0.80, 0.80, 0.80, 0.80, 0.90]  # differences 0.01 x4 and 0.11: far from normal
    b = [0.79, 0.79, 0.79, 0.79, 0.79]
    report = build_report(_records("a", a) + _records("b", b), CompareOptions(metrics=("macro_f1",)))
    (c,) = report["comparisons"]
    assert c["recommended"]["name"] == "Wilcoxon signed-rank"
    assert not c["recommended"]["significant"]
    assert any("can never give p < 0.05" in w and "at least 6 seeds" in w for w in report["warnings"])


def test_parents_failures_and_missing_metrics_are_skipped_with_reasons():
    records = _records("a", A) + _records("b", B)
    records.append(RunRecord("parent", "a", None, "d1", {"test_macro_f1_mean": 0.8}, is_parent=True))
    records.append(RunRecord("failed", "b", "9", "d1", {}, status="FAILED"))
    records.append(RunRecord("nometric", "b", "8", "d1", {"test_accuracy": 0.5}))
    report = build_report(records, CompareOptions(metrics=("macro_f1",)))
    reasons = {s["run_id"]: s["reason"] for s in report["skipped"]}
    assert reasons == {"parent": "parent run of repeats (its child runs are the samples)", "failed": "status FAILED",
                       "nometric": "no metric macro_f1"}


def test_three_systems_holm_and_friedman():
    c_scores = [0.70, 0.71, 0.72, 0.70, 0.69]
    report = build_report(_records("a", A) + _records("b", B) + _records("c", c_scores), CompareOptions(metrics=("macro_f1",)))
    comps = report["comparisons"]
    assert len(comps) == 3 and all("p_holm" in c["recommended"] for c in comps)
    raw = sorted(c["recommended"]["p_value"] for c in comps)
    assert min(c["recommended"]["p_holm"] for c in comps) == pytest.approx(min(3 * raw[0], 1))
    f = report["friedman"]["macro_f1"]
    assert f["n"] == 5 and f["average_ranks"] == {"a": 1.0, "b": 2.0, "c": 3.0}


def test_a_deterministic_system_is_pointed_out():
    report = build_report(_records("tiny", A) + _records("tfidf", [0.8] * 5), CompareOptions(metrics=("macro_f1",)))
    assert any("all 5 runs of tfidf have the same score" in w for w in report["warnings"])


def test_baseline_compares_against_it_only():
    report = build_report(_records("a", A) + _records("b", B) + _records("tfidf", [0.6] * 5),
                          CompareOptions(metrics=("macro_f1",), baseline="tfidf"))
    assert {(c["a"], c["b"]) for c in report["comparisons"]} == {("a", "tfidf"), ("b", "tfidf")}


@pytest.mark.parametrize(
    "records, fragment",
    [
        ([], "no runs match"),
        (_records("a", A), "need at least two systems"),
        (_records("a", A) + _records("b", [0.7]), "b has 1"),
        (_records("a", A) + _records("b", B, digest="d2"), "trained on different data"),
    ],
)
def test_bad_input(records, fragment):
    with pytest.raises(FrenkError, match=fragment):
        build_report(records, CompareOptions(metrics=("macro_f1",)))


def test_mixed_data_can_be_allowed():
    report = build_report(_records("a", A) + _records("b", B, digest="d2"),
                          CompareOptions(metrics=("macro_f1",), allow_mixed_data=True))
    assert report["comparisons"][0]["design"] == "independent"  # different data never pair


def test_config_needs_a_selection():
    with pytest.raises(ConfigError, match="group="):
        CompareConfig()


# ---------------------------------------------------------------- through MLflow


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

    outcome = compare(CompareConfig(group="hr-binary"))
    report = outcome.report
    assert report["systems"] == ["bertic", "xlmr"]
    macro = [c for c in report["comparisons"] if c["metric"] == "macro_f1"][0]
    assert macro["recommended"]["p_value"] == pytest.approx(0.0085809, abs=5e-8)
    assert macro["fold_view"]["n_folds"] == 3
    assert any(s["reason"] == "status FAILED" for s in report["skipped"])

    run = mlflow.get_run(outcome.run_id)
    assert run.data.tags["frenk.step"] == "compare" and run.data.tags["frenk.best_system"] == "bertic"
    used = set(run.data.tags["frenk.compared_runs"].split(","))
    assert len(used) == 10
    assert run.data.metrics["macro_f1.bertic_vs_xlmr.p_value"] == pytest.approx(0.0085809, abs=5e-8)
    assert run.data.metrics["macro_f1.bertic_vs_xlmr.cohens_d"] == pytest.approx(macro["effect"]["cohens_d"])
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(outcome.run_id)}
    assert {"report.md", "report.json", "plots"} <= artifacts
    saved = json.loads(Path(mlflow.artifacts.download_artifacts(run_id=outcome.run_id, artifact_path="report.json")).read_text())
    assert saved["best_system"] == "bertic"
    assert "bertic is better than xlmr" in outcome.markdown


@pytest.mark.slow
def test_mlflow_run_compare_end_to_end(mlflow_store, tmp_path):
    _log_runs("bertic", A)
    _log_runs("xlmr", B)
    ok = mlflow_run("compare", {"group": "hr-binary"}, mlflow_store, tmp_path)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "bertic is better than xlmr on macro_f1 (paired t-test, p=0.008581" in ok.stdout
    bad = mlflow_run("compare", {"group": "nonesuch"}, mlflow_store, tmp_path)
    assert bad.returncode != 0 and "frenk: error: no runs match" in bad.stderr and "Traceback" not in bad.stderr

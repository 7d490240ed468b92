"""The compare step across data sets (#22 point 2): ``group=<g1>,<g2>`` compares within each group
(block) at alpha / blocks and across them, logged on one compare run."""

from __future__ import annotations

import mlflow
import pytest

from frenk.comparison.blocks import BlockAnalysis
from frenk.config import CompareConfig
from frenk.core.errors import ConfigError, FrenkError
from frenk.steps import compare

from ..helpers import FAST

SHIFTS = [0.0, 0.004, -0.003, 0.002, -0.001]


def _log(group: str, system: str, level: float, shifts=SHIFTS, digest: str | None = None):
    for seed, s in enumerate(shifts):
        tags = {"frenk.step": "train", "frenk.group": group, "frenk.model": system, "frenk.seed": str(seed),
                "frenk.data_digest": digest or f"d-{group}"}
        with mlflow.start_run(run_name=f"{system}-s{seed}", tags=tags):
            mlflow.log_metrics({"test_macro_f1": level + s, "test_accuracy": level + s + 0.01})


def _artifacts(run_id: str, path: str | None = None) -> set[str]:
    return {a.path for a in mlflow.MlflowClient().list_artifacts(run_id, path)}


def test_blocks_refuse_bad_input_before_logging(mlflow_store):
    for group, other in (("hr-binary", "xlmr"), ("sl-binary", "tfidf")):
        _log(group, "bertic", 0.7, SHIFTS[:2])
        _log(group, other, 0.6, SHIFTS[:2])
    with pytest.raises(FrenkError, match="block en-binary: no runs match"):
        compare(CompareConfig(group="hr-binary,en-binary"))
    with pytest.raises(FrenkError, match="share 1 system"):
        compare(CompareConfig(group="hr-binary,sl-binary"))
    with pytest.raises(ConfigError, match="distinct, non-empty groups"):
        CompareConfig(group="hr-binary,hr-binary")
    assert not mlflow.search_runs(search_all_experiments=True, filter_string="tags.`frenk.step` = 'compare'",
                                  output_format="list")


@pytest.mark.slow
def test_compare_across_languages_from_trained_runs(mlflow_store, prepared_sample, tmp_path):
    """tiny and tfidf trained on the hr and the sl sample, two seeds each, compared across both."""
    from frenk.config import TrainConfig
    from frenk.data import PreprocessOptions, prepare, write_prepared
    from frenk.steps import train

    sl = write_prepared(prepare(PreprocessOptions(source="sample", lang="sl")), tmp_path / "sl")
    for lang, data in (("hr", prepared_sample), ("sl", sl)):
        train(TrainConfig(model="tfidf", data=str(data), lang=lang, repeats=2))
        train(TrainConfig(model="tiny", data=str(data), lang=lang, repeats=2, args=FAST))
    hr = mlflow.search_runs(search_all_experiments=True, output_format="list",
                            filter_string="tags.`frenk.group` = 'hr-binary' AND tags.`frenk.model` = 'tfidf'")
    _log("hr-binary", "only-hr", 0.5, SHIFTS[:2], hr[0].data.tags["frenk.data_digest"])  # no predictions, one block
    outcome = compare(CompareConfig(group="hr-binary,sl-binary"))
    analysis = outcome.analysis
    assert analysis.blocks == ("hr-binary", "sl-binary") and set(analysis.systems) == {"tiny", "tfidf"}
    assert any("only-hr is not in every block" in w for w in analysis.warnings)
    for report in outcome.reports.values():  # each block decided at alpha / 2, at its first look
        assert (report.alpha, report.decision_alpha) == (0.025, 0.0125)
        c = next(c for c in report.comparisons if {c.a, c.b} == {"tiny", "tfidf"})
        assert c.verdict.level == "seeds and test comments" and c.two_level is not None  # predictions were read
    f = analysis.friedman
    assert f is not None and f.n_blocks == 2 and sorted(f.average_ranks.values()) in ([1.0, 2.0], [1.5, 1.5])
    rep = analysis.replications[0]
    assert rep.n == 2 and len(rep.partial_conjunction) == 2 and 0 <= rep.replicated <= 2

    run = mlflow.get_run(outcome.run_id)
    assert run.data.tags["frenk.blocks"] == "hr-binary,sl-binary" and "frenk.systems" not in run.data.tags
    assert run.info.run_name == "compare-2-datasets" and "Across 2 data sets" in run.data.tags["mlflow.note.content"]
    assert {"report.md", "blocks.json", "results_table.md", "results_table.tex", "results_table.json",
            "critical_difference.png", "blocks"} <= _artifacts(outcome.run_id)
    assert {"blocks/hr-binary/report.json", "blocks/hr-binary/report.md"} <= _artifacts(outcome.run_id, "blocks/hr-binary")
    assert BlockAnalysis.from_dict(mlflow.artifacts.load_dict(f"runs:/{outcome.run_id}/blocks.json")) == analysis
    table = mlflow.artifacts.load_dict(f"runs:/{outcome.run_id}/results_table.json")
    assert table["blocks"] == ["hr-binary", "sl-binary"] and set(table["systems"]) == {"tiny", "tfidf"}
    assert table["cells"]["sl-binary"]["tiny"]["macro_f1"]["runs"] == outcome.reports["sl-binary"].runs["tiny"]
    assert run.data.metrics["blocks/friedman_p"] == pytest.approx(f.p)
    tex = mlflow.artifacts.load_text(f"runs:/{outcome.run_id}/results_table.tex")
    assert r"\multicolumn{2}{c}{hr-binary}" in tex and r"\multicolumn{2}{c}{sl-binary}" in tex
    assert "## sl-binary" in outcome.markdown and "Friedman chi-square" in outcome.markdown

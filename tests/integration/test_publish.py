"""Publish: the gate (pure), and the whole publication on a real MLflow store with tiny models."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest

from frenk.comparison import ComparisonReport
from frenk.config import PublishConfig, TrainConfig
from frenk.core.errors import FrenkError
from frenk.publishing import gate

from ..helpers import FAST, compared_store


def _report(verdicts: dict[tuple[str, str], str | None], metric="macro_f1", means: dict[str, float] | None = None,
            seeds_needed: float | None = 9, plan: str | None = "plan: 9 seeds per system") -> ComparisonReport:
    """A report with only the keys the gate reads (as a report.json of an older frenk may be)."""
    return ComparisonReport.from_dict({
        "metrics": [metric],
        "descriptives": {metric: {s: {"mean": m} for s, m in (means or {}).items()}},
        "comparisons": [
            {"metric": metric, "a": a, "b": b, "recommended": {"better": better, "verdict": f"verdict {a} {b}"},
             "power": {"seeds_needed": seeds_needed}, **({"plan": {"text": plan, "seeds": 9}} if plan else {})}
            for (a, b), better in verdicts.items()
        ],
    })


def test_gate_rules():
    report = _report({("bertic", "xlmr"): "bertic", ("bertic", "tfidf"): "bertic", ("xlmr", "tfidf"): None})
    assert gate(report, "bertic", has_champion=True).allowed
    assert not gate(report, "xlmr", has_champion=False).allowed  # worse than bertic
    assert "not supported: verdict bertic xlmr" in gate(report, "xlmr", has_champion=False).reason
    tie = _report({("tiny", "tfidf"): None}, means={"tiny": 0.80, "tfidf": 0.77})
    assert gate(tie, "tiny", has_champion=False).allowed
    refused = gate(tie, "tiny", has_champion=True)
    assert not refused.allowed and "a champion exists" in refused.reason
    assert "plan: 9 seeds per system" in refused.reason  # the plan for the next look, not "train N more"
    assert not gate(tie, "mbert", has_champion=False).allowed  # not in the report


def test_gate_never_promotes_a_worse_mean_on_a_tie():
    # the probe's case: 3 seeds, no test can reach significance, no champion yet
    tie = _report({("tfidf", "tiny"): None}, means={"tiny": 0.342, "tfidf": 0.768}, seeds_needed=4, plan=None)
    worse = gate(tie, "tiny", has_champion=False)
    assert not worse.allowed
    assert "its mean is lower than tfidf's" in worse.reason and "from an older frenk) has no plan" in worse.reason
    assert "seeds_needed" not in worse.reason and "4 seeds" not in worse.reason
    assert gate(tie, "tfidf", has_champion=False).allowed
    # a report without means proves nothing about the means: refused
    assert not gate(_report({("tfidf", "tiny"): None}), "tiny", has_champion=False).allowed
    no_diff = gate(_report({("tfidf", "tiny"): None}, means={"tiny": 0.5, "tfidf": 0.6}, seeds_needed=None,
                           plan="plan: no number of seeds up to 200"), "tiny", False)
    assert "plan: no number of seeds up to 200" in no_diff.reason


def test_card_base_model_is_the_hub_id_the_model_was_tuned_from():
    from frenk.publishing import base_model_of

    assert base_model_of("classla/bcms-bertic") == "classla/bcms-bertic"
    assert base_model_of("xlm-roberta-base") == "xlm-roberta-base"
    assert base_model_of("tiny") is None
    assert base_model_of("/home/me/models/my-bert") is None


@pytest.fixture(scope="module")
def store(tmp_path_factory, prepared_sample):
    """tfidf and tiny, two seeds each, and a compare run: the state after train and compare."""
    with compared_store(tmp_path_factory.mktemp("publish"), prepared_sample, 2,
                        {"HF_TOKEN": "hf_SECRETtoken1234567890"}) as state:
        yield {**state, "data": prepared_sample}


@pytest.mark.slow
def test_publish_promotes_exports_and_writes_an_honest_card(store, capfd):
    from huggingface_hub import ModelCard
    from transformers import pipeline

    from frenk.steps import publish

    out = store["root"] / "hf"
    means = store["compare"].report.descriptives["macro_f1"]
    worse = means["tiny"].mean < means["tfidf"].mean  # one epoch of a tiny model: often worse than tfidf
    result = publish(PublishConfig(output=str(out), force=worse))
    client = mlflow.MlflowClient()
    champion = client.get_model_version_by_alias("frenk-hr", "champion")
    assert str(champion.version) == result.version == store["tiny"].registered_version == "2"
    assert champion.tags["frenk.compare_run"] == store["compare"].run_id
    assert result.forced == worse

    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md"} <= {p.name for p in out.iterdir()}
    capfd.readouterr()
    classify = pipeline("text-classification", model=str(out))
    predictions = classify(["Migranti su gamad, van s njima!", "Podrška i poštovanje za sve obitelji."])
    assert {p["label"] for p in predictions} <= {"Acceptable", "Offensive"}
    captured = capfd.readouterr()
    assert "MISSING" not in captured.out + captured.err and "newly initialized" not in captured.out + captured.err
    # a text far longer than the model's positions: truncation=True cuts it at the trained max_length
    trained = json.loads((out / "frenk.json").read_text())["max_length"]
    assert classify.tokenizer.model_max_length == trained
    long = pipeline("text-classification", model=str(out), truncation=True)([" ".join(["migranti"] * 5000)])
    assert long[0]["label"] in {"Acceptable", "Offensive"}

    card = ModelCard.load(out / "README.md")
    best = mlflow.get_run(store["tiny"].best.run_id)
    values = {m.metric_type: m.metric_value for m in card.data.eval_results}
    assert values == {"accuracy": round(best.data.metrics["test/accuracy"], 4), "f1": round(best.data.metrics["test/macro_f1"], 4)}
    assert card.data.language == "hr" and "hate-speech-detection" in card.data.tags
    text = card.text
    import numpy as np

    accs = [r.metrics["test_accuracy"] for r in store["tiny"].runs]
    assert f"{np.mean(accs):.4f} ± {np.std(accs, ddof=1):.4f}" in text
    assert f"published seed ({store['tiny'].best.seed})" in text
    assert "validation* macro-F1" in text and "test scores played no part" in text
    assert "**How the system was chosen:** tiny has the highest mean final_val_macro_f1 over its seeds" in text
    assert store["compare"].run_id in text and all(r.run_id in text for r in store["tiny"].runs)
    assert "| macro_f1 | tfidf | independent | 2 |" in text, [line for line in text.splitlines() if "| macro_f1 |" in line]
    assert "Demonstration only" in text  # trained on the synthetic sample
    assert card.data.license_name == "frenk-synthetic-sample" and not card.data.datasets
    assert "The test split of the synthetic sample" in text and "FRENK's own train/test split" not in text
    # the values train used (FAST's args applied, the preset's rate and batch), the data folder, the seeds
    assert (f"mlflow run . -e train -P model=tiny -P data={store['data']} -P epochs=1 -P learning_rate=0.002 "
            "-P batch_size=32 -P max_length=64 -P repeats=2\n") in text
    assert "AutoModelForSequenceClassification.from_pretrained" in text
    assert "| epochs | 1 |" in text and "| batch_size (effective) | 32 |" in text  # the preset's, resolved
    assert "| topic | published seed |" in text and "| lgbt |" in text
    record = json.loads((out / "frenk_publish.json").read_text())
    assert record["files"] == sorted(p.name for p in out.iterdir())

    # the UI answers "what was published, and why?" in the descriptions
    verb = "Forced" if worse else "Promoted"
    # the version: why it was promoted, by which publish run, and what it was trained as
    assert champion.description.startswith(f"{verb} to `@champion` (tiny): ") and "Trained as: tiny (seed" in champion.description
    note = mlflow.get_run(result.run_id).data.tags["mlflow.note.content"]
    assert f"/runs/{result.run_id}?workflowType=machine_learning)" in champion.description
    # the publish run: which version (linked), from which train run, why
    assert note.startswith(f"{verb} **[frenk-hr version "
                           f"{result.version}](#/models/frenk-hr/versions/{result.version})** (tiny, "
                           f"from train run [tiny-hr-s") and f"/runs/{store['tiny'].best.run_id}?workflowType=machine_learning)" in note
    parent = mlflow.get_run(store["tiny"].parent_run_id).data.tags["mlflow.note.content"]
    assert parent.startswith("**tiny** on hr/binary, 2 seeds: test macro-F1 ") and store["tiny"].best.run_id in parent
    compare_note = mlflow.get_run(store["compare"].run_id).data.tags["mlflow.note.content"]
    assert store["compare"].report.summary in compare_note

    _verify_the_card(store, out, text)


def _verify_the_card(store, out: Path, text: str) -> None:
    """#22.5: the card's numbers are the compare report's, every one reproduced from the store by
    publish verify=; a copy edited by hand is refused in one line (and never pushed)."""
    import shutil

    from huggingface_hub import ModelCard

    from frenk.steps import publish

    report = store["compare"].report
    f1 = report.descriptives["macro_f1"]["tiny"]
    assert f"| mean ± sd over {f1.n} seeds |" in text and f"{f1.mean:.4f} ± {f1.sd:.4f}" in text
    published = report.runs["tiny"].index(store["tiny"].best.run_id)
    index = {r.metric_type: r for r in ModelCard.load(out / "README.md").data.eval_results}
    assert index["f1"].metric_value == round(f1.values[published], 4)
    assert index["f1"].metric_name == (f"Macro F1 (published seed {store['tiny'].best.seed}; mean ± sd over {f1.n} "
                                       f"seeds: {f1.mean:.4f} ± {f1.sd:.4f})")
    assert "## How to verify" in text and "-P verify=path/to/this/folder" in text
    outcome = publish(PublishConfig(verify=str(out)))  # recomputes the report and the card from the store
    assert outcome.reason == "verified"
    edited = store["root"] / "hf-edited"
    shutil.copytree(out, edited)
    card = (edited / "README.md").read_text()
    (edited / "README.md").write_text(card.replace(f"{f1.mean:.4f} ± {f1.sd:.4f}", "0.9900 ± 0.0010"))
    with pytest.raises(FrenkError, match=r"hf-edited/README.md is not the store's card: its numbers differ from "
                                         r"the tracking store's in \d+ places? \(line \d+: [^;]*0.9900") as refused:
        publish(PublishConfig(verify=str(edited), push=True, repo_id="someone/frenk-hr"))
    assert "\n" not in str(refused.value)
    # the compare run's stability, with the comments' texts from the prepared folder the runs used
    table = mlflow.artifacts.load_dict(f"runs:/{store['compare'].run_id}/stability.json")
    rows = [dict(zip(table["columns"], r, strict=True)) for r in table["data"]]
    assert len(rows) == report.stability.n_comments > 0 and all(r["text"] for r in rows)
    assert {"tiny.votes.Offensive", "tfidf.agreement"} <= set(table["columns"])
    flips = mlflow.artifacts.load_text(f"runs:/{store['compare'].run_id}/flips.md")
    assert f"texts from {store['data']}" in flips


@pytest.mark.slow
def test_publish_never_deletes_files_it_did_not_write(store):
    from frenk.steps import publish

    out = store["root"] / "site"
    out.mkdir()
    (out / "frenk_publish.json").write_text("{}")  # a stray record (no file list: the export's names apply)
    (out / "index.html").write_text("<p>my site</p>")
    client = mlflow.MlflowClient()
    before = {a: client.get_model_version_by_alias("frenk-hr", a).version for a in ("candidate",)}
    with pytest.raises(FrenkError, match="did not write there: index.html"):
        publish(PublishConfig(output=str(out), version="2", force=True))
    assert (out / "index.html").read_text() == "<p>my site</p>"
    assert sorted(p.name for p in out.iterdir()) == ["frenk_publish.json", "index.html"]
    assert before == {a: client.get_model_version_by_alias("frenk-hr", a).version for a in ("candidate",)}


@pytest.mark.slow
def test_gate_refuses_a_worse_model_and_force_overrides(store):
    """Over seeds and test comments tfidf beats tiny on the sample (tfidf is deterministic, so at
    the seed level alone the two were a tie): a new tiny version is refused, force overrides. The
    equal model against a champion is test_gate_rules'."""
    from frenk.steps import publish, train

    newer = train(TrainConfig(model="tiny", data=str(store["data"]), repeats=2, seed=100, args=FAST, group="hr-binary"))
    out = store["root"] / "hf2"
    with pytest.raises(FrenkError, match=r"refusing to promote frenk-hr version 3 \(tiny\): not supported: tfidf is better "
                                         r"than tiny on macro_f1 .*over seeds and test comments"):
        publish(PublishConfig(output=str(out), compare_run=store["compare"].run_id))
    client = mlflow.MlflowClient()
    assert str(client.get_model_version_by_alias("frenk-hr", "champion").version) == "2"
    assert not out.exists()

    forced = publish(PublishConfig(output=str(out), compare_run=store["compare"].run_id, force=True))
    assert forced.forced and forced.version == newer.registered_version == "3"
    assert client.get_model_version("frenk-hr", "3").tags["frenk.forced"] == "true"
    card = (out / "README.md").read_text()  # the card says so too, with the gate's reason
    assert "**Promoted with force=true:** the compare report did not support promoting this model (not supported: " \
           "tfidf is better than tiny" in card
    previous = client.get_model_version_by_alias("frenk-hr", "previous-champion")
    assert str(previous.version) == "2" and "frenk.champion_replaced_on" in previous.tags


@pytest.mark.slow
def test_tfidf_version_cannot_be_exported(store):
    from frenk.steps import publish

    with pytest.raises(FrenkError, match="TF-IDF baseline"):
        publish(PublishConfig(output=str(store["root"] / "hf3"), version="1"))


@pytest.mark.slow
def test_push_fails_cleanly_offline_and_the_token_never_leaks(store, capfd):
    from frenk.steps import publish

    client = mlflow.MlflowClient()
    before = str(client.get_model_version_by_alias("frenk-hr", "champion").version)
    out = store["root"] / "hf-push"
    with pytest.raises(FrenkError, match="cannot reach the Hugging Face Hub") as info:
        publish(PublishConfig(output=str(out), push=True, repo_id="someone/frenk-hr", force=True))
    assert str(client.get_model_version_by_alias("frenk-hr", "champion").version) == before
    assert not out.exists()
    captured = capfd.readouterr()
    token = "hf_SECRETtoken1234567890"
    assert token not in str(info.value) + captured.out + captured.err
    for path in Path(store["root"]).rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), f"token found in {path}"


@pytest.mark.slow
def test_push_without_token_fails_before_anything(store, monkeypatch):
    from frenk.steps import publish

    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(FrenkError, match="needs a Hugging Face token in the environment variable HF_TOKEN"):
        publish(PublishConfig(output=str(store["root"] / "hf-x"), push=True, repo_id="someone/frenk-hr"))


# ---------------------------------------------------------------- selection off the test set (issue 10)


def _choice_report(ranking, means, systems=("tfidf", "tiny", "mbert")) -> ComparisonReport:
    return ComparisonReport.from_dict({
        "metrics": ["macro_f1"], "systems": list(systems), "comparisons": [],
        "validation_choice": {"metric": "final_val_macro_f1", "ranking": ranking, "means": means,
                              "system": ranking[0] if ranking else None, "test_verdicts": []}})


def test_main_publishes_the_best_transformer_by_validation_not_test():
    from frenk.publishing import selection_text, system_to_publish

    # systems are ordered by test mean (tfidf, tiny, mbert); validation ranks mbert first
    report = _choice_report(["tfidf", "mbert", "tiny"], {"tfidf": 0.9, "mbert": 0.8, "tiny": 0.7})
    assert system_to_publish(report) == "mbert"
    text = selection_text(report, "mbert")
    assert "highest mean final_val_macro_f1" in text and "test scores played no part" in text
    other = selection_text(report, "tiny")
    assert "explicit choice" in other and "the leading exportable model was mbert (a transformer)" in other
    with pytest.raises(FrenkError, match="no validation metric final_val_macro_f1"):
        system_to_publish(_choice_report([], {}))
    with pytest.raises(FrenkError, match="no transformer"):
        system_to_publish(_choice_report(["tfidf"], {"tfidf": 0.9}, systems=("tfidf",)))


# ---------------------------------------------------------------- one-line errors (issue 10, point 7)


def test_wrong_compare_run_or_version_is_a_tracking_error(mlflow_store, tmp_path):
    from frenk.core.errors import TrackingError
    from frenk.steps import publish
    from frenk.tracking import search

    with mlflow.start_run(tags={"frenk.step": "train", "frenk.model": "tiny"}) as run:
        mlflow.log_text("x", "model/x.txt")
    client = mlflow.MlflowClient()
    client.create_registered_model("frenk-hr")
    client.create_model_version("frenk-hr", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    out = str(tmp_path / "hf")
    with pytest.raises(TrackingError, match="no compare run 'f00' in the tracking store"):
        publish(PublishConfig(output=out, version="1", compare_run="f00"))
    with pytest.raises(TrackingError, match="no compare report includes the system 'tiny'"):
        publish(PublishConfig(output=out, version="1", compare_run=run.info.run_id))  # a train run
    with pytest.raises(TrackingError, match=f"run {run.info.run_id} has no compare report"):
        search.load_report(run.info.run_id)
    for version in ("7", "abc"):
        with pytest.raises(TrackingError, match=f"has no version {version}"):
            publish(PublishConfig(output=out, version=version))
    with pytest.raises(TrackingError, match="registered model 'frenk-sl' has no"):
        publish(PublishConfig(output=out, lang="sl", version="1"))


@pytest.mark.slow
def test_republishing_identical_weights_is_a_no_op_that_says_so(store, capfd):
    from frenk.steps import publish, train

    first = train(TrainConfig(model="tiny", data=str(store["data"]), seed=500, args=FAST))
    second = train(TrainConfig(model="tiny", data=str(store["data"]), seed=500, args=FAST))  # the same training again
    client = mlflow.MlflowClient()
    digests = {client.get_model_version("frenk-hr", v).tags["frenk.weights_sha256"]
               for v in (first.registered_version, second.registered_version)}
    assert len(digests) == 1
    out = store["root"] / "hf-same"
    publish(PublishConfig(output=str(out), version=first.registered_version, force=True))
    capfd.readouterr()
    outcome = publish(PublishConfig(output=str(out), version=second.registered_version))
    assert "has the same weights as the @champion version" in capfd.readouterr().out
    assert outcome.version == first.registered_version
    assert str(client.get_model_version_by_alias("frenk-hr", "champion").version) == first.registered_version
    # issue 23: the publish that promotes nothing has its run too, named, tagged and saying why
    run = client.get_run(outcome.run_id)
    assert run.info.run_name == f"publish-frenk-hr-v{second.registered_version}"
    assert run.data.tags["frenk.step"] == "publish" and run.data.tags["frenk.model"] == "tiny"
    assert run.data.tags["mlflow.note.content"].startswith("Nothing promoted: ")
    assert "nothing to promote" in run.data.tags["mlflow.note.content"]


# ---------------------------------------------------------------- honest cards for any data (issue 12, item 2)

SAMPLE_SOURCE = "synthetic sample (hr), generated by frenk.sample; NOT FRENK data"
HUB_SOURCE = "hf://datasets/classla/FRENK-hate-hr (parquet conversion, multiclass)"


def test_data_facts_of_the_hub_dataset():
    from frenk.publishing import data_facts

    facts = data_facts({"frenk.data_source": HUB_SOURCE}, {"data": "hub", "labels": "binary"}, "hr")
    assert facts.kind == "hub" and not facts.synthetic
    assert facts.dataset_id == "classla/FRENK-hate-hr" and facts.license_name == "frenk-derived"
    assert facts.split == "The test split of FRENK's own train/test split"
    assert any("moderators" in use for use in facts.intended_uses) and "Croatian" in facts.out_of_scope
    # a prepared folder of Hub data: the manifest's source (the tag) decides, not the folder's path
    assert data_facts({"frenk.data_source": HUB_SOURCE}, {"data": "/data/hr"}, "hr").kind == "hub"


def test_data_facts_of_a_local_copy_of_frenk():
    from frenk.publishing import data_facts

    facts = data_facts({"frenk.data_source": "/corpora/FRENK/hr"}, {"data": "/corpora/FRENK/hr"}, "sl")
    assert facts.kind == "local" and not facts.synthetic
    assert facts.dataset_id == "classla/FRENK-hate-sl" and facts.license_name == "frenk-derived"
    assert "FRENK's own train/test split" in facts.split and "/corpora/FRENK/hr" in facts.split
    assert "Slovenian" in facts.out_of_scope


def test_data_facts_of_the_synthetic_sample_claim_nothing_of_frenk():
    from frenk.publishing import data_facts

    for tags, params in (({"frenk.data_source": SAMPLE_SOURCE}, {"data": "/tmp/prepared/hr"}),  # a prepared folder
                         ({}, {"data": "sample"})):  # no tag: the parameter alone
        facts = data_facts(tags, params, "hr")
        assert facts.kind == "sample" and facts.synthetic
        assert facts.dataset_id is None and facts.license_name == "frenk-synthetic-sample"
        assert "synthetic sample" in facts.split and "not real comments" in facts.split and "FRENK" not in facts.split
        assert facts.intended_uses == ("demonstrating and testing the frenk pipeline (training, tracking, comparison, "
                                       "publishing); nothing else",)
        assert "moderat" not in " ".join(facts.intended_uses) and "real text" in facts.out_of_scope


def test_replay_command_names_every_parameter_that_differs_from_its_default():
    import shlex

    from frenk.publishing import replay_command

    # a child run of `-P data=sample -P lang=sl -P labels=multiclass -P learning_rate=3e-5 -P repeats=3 -P seed=7`
    # as train logs it: every field (group and register expanded, args applied), resolved values, its own seed
    params = {"model": "xlmr", "data": "sample", "lang": "sl", "labels": "multiclass", "epochs": "0.0",
              "learning_rate": "3e-05", "batch_size": "0", "max_length": "128", "seed": "8", "repeats": "3",
              "group": "sl-multiclass", "register": "frenk-sl", "precision": "auto", "keep_models": "best",
              "device_batch_size": "0", "warmup_ratio": "0.0", "weight_decay": "0.0", "params": "",
              "resolved_epochs": "12.0", "resolved_learning_rate": "3e-05", "model_source": "xlm-roberta-base"}
    line = replay_command(params, [7, 8, 9])
    assert line == ("mlflow run . -e train -P model=xlmr -P data=sample -P lang=sl -P labels=multiclass "
                    "-P learning_rate=3e-05 -P seed=7 -P repeats=3")
    assert shlex.split(line)[:5] == ["mlflow", "run", ".", "-e", "train"]
    # the defaults alone: just the model; as `mlflow run` logs them (its spelling, args unapplied)
    assert replay_command({"model": "bertic", "seed": "42", "repeats": "1", "group": "", "register": "frenk-{lang}",
                           "args": "{}", "max_length": "128", "epochs": "0"}, [42]) == "mlflow run . -e train -P model=bertic"
    # user-set values that need quoting survive a copy-paste into a shell
    args = '{"num_train_epochs": 1, "max_seq_length": 64}'
    line = replay_command({"model": "/models/my bert", "data": "/data/hr", "args": args, "group": "mine",
                           "register": "", "weight_decay": "0.01", "batch_size": "16.0"}, [42, 43])
    words = shlex.split(line)
    assert words[words.index("-P") + 1] == "model=/models/my bert"
    for expected in (f"args={args}", "group=mine", "register=", "weight_decay=0.01", "batch_size=16", "repeats=2",
                     "data=/data/hr"):
        assert expected in words, (expected, words)
    assert "seed=42" not in words


def _card(tags: dict, params: dict):
    from frenk.publishing import RunFacts, card_facts

    base = {"frenk.model": "tiny", "frenk.model_id": "tiny", "frenk.lang": "hr", "frenk.labels": "binary",
            "frenk.data_digest": "d" * 64}
    metrics = {"test_accuracy": 0.7, "test_macro_f1": 0.6, "final_val_macro_f1": 0.65,
               "test_topic.lgbt.macro_f1": 0.5, "test_topic.lgbt.accuracy": 0.55}
    seeds = [RunFacts(f"run{s}", {**base, **tags, "frenk.seed": str(s)}, {**params, "seed": str(s)},
                      {k: v + s / 1000 for k, v in metrics.items()}) for s in (42, 43)]
    report = ComparisonReport.from_dict({
        "alpha": 0.05, "comparisons": [], "runs": {"tiny": ["run42", "run43"]},
        "validation_choice": {"metric": "final_val_macro_f1", "ranking": ["tiny"], "means": {"tiny": 0.65}}})
    return card_facts("frenk-hr", "1", seeds[1], seeds, report, "cmp", {0: "Acceptable", 1: "Offensive"})


def test_card_of_the_synthetic_sample_is_honest_and_valid_for_the_hub():
    from huggingface_hub import ModelCard

    from frenk.publishing import render_card

    facts = _card({"frenk.data_source": SAMPLE_SOURCE}, {"model": "tiny", "data": "sample", "repeats": "2"})
    card = ModelCard(render_card(facts))
    data = card.data.to_dict()
    assert data["license"] == "other" and data["license_name"] == "frenk-synthetic-sample"
    assert "datasets" not in data and "synthetic-data" in data["tags"]
    assert [r.dataset_type for r in card.data.eval_results] == ["frenk-synthetic-sample"] * 2
    text = card.text
    assert "Demonstration only" in text and "The test split of the synthetic sample" in text
    assert "FRENK's own train/test split" not in text and "frenk-derived" not in str(card)
    assert "moderators" not in text and "Intended: demonstrating and testing the frenk pipeline" in text
    assert "```bash\nmlflow run . -e train -P model=tiny -P data=sample -P repeats=2\n```" in text
    assert "@misc{ljubesic2019frenk" not in text  # no FRENK data in it


def test_card_of_frenk_names_the_dataset_its_licence_and_real_uses():
    from huggingface_hub import ModelCard

    from frenk.publishing import render_card

    card = ModelCard(render_card(_card({"frenk.data_source": HUB_SOURCE}, {"model": "tiny", "data": "hub",
                                                                           "lang": "hr", "repeats": "2"})))
    data = card.data.to_dict()
    assert data["license"] == "other" and data["license_name"] == "frenk-derived"
    assert data["datasets"] == ["classla/FRENK-hate-hr"]
    assert [r.dataset_type for r in card.data.eval_results] == ["classla/FRENK-hate-hr"] * 2
    text = card.text
    assert "Demonstration only" not in text and "The test split of FRENK's own train/test split." in text
    assert "pre-screening of Facebook-style news comments" in text and "@misc{ljubesic2019frenk" in text
    assert "```bash\nmlflow run . -e train -P model=tiny -P repeats=2\n```" in text


def test_the_card_says_where_its_numbers_hold():
    """#20: the figures hold on the test split over N seeds, at the level the verdicts were made;
    the published seed's score has its interval over test comments; the validation figure is the
    best of N; degenerate runs and every compared system's tuning budget are named."""
    from dataclasses import replace

    from frenk.comparison import Verdict
    from frenk.publishing import render_card

    facts = _card({"frenk.data_source": HUB_SOURCE}, {"model": "tiny", "data": "hub", "repeats": "2"})
    pair = ComparisonReport.from_dict({"metrics": ["macro_f1"], "comparisons": [
        {"metric": "macro_f1", "a": "tiny", "b": "tfidf", "recommended": {"better": "tiny", "verdict": "tiny wins"}}]})
    level = replace(pair.comparisons[0], verdict=Verdict("welch_t", "Welch's t-test", 0.01, better="tiny",
                                                         level="seeds and test comments", call="better"))
    report = replace(facts.report, metrics=("macro_f1",), comparisons=(level,), look=1, alpha_used=0.025,
                     min_difference=0.005, degenerate={"tiny": ["run43"]},
                     tuning={"tiny": "tune run t1: 9 trials x 1 seed", "tfidf": "untuned (the preset's defaults)"})
    text = render_card(replace(facts, report=report,
                               published_intervals={"macro_f1": (0.55, 0.66), "accuracy": (0.65, 0.75)}))
    assert "the figures hold on the FRENK-hr test split, over 2 training seeds; verdicts at the " \
           "seeds-and-test-comments level" in text
    assert "| published seed (43), 95% interval over test comments | 0.7430 [0.6500, 0.7500] | 0.6430 [0.5500, 0.6600] |" in text
    assert "the best of 2 seeds: a maximum" in text and "**Degenerate runs:** 1 of the 2 runs (`run43`)" in text
    assert "look 1 at this test set, deciding at 0.025; margin 0.005" in text
    assert "Tuning budget of each compared system: tiny: tune run t1: 9 trials x 1 seed; tfidf: untuned" in text
    old = render_card(facts)  # a report of an older frenk: its verdicts are seed-level, for this test set alone
    assert "at the seed level: for this test set alone" in old and "95% interval over test comments" not in old


def test_a_boolean_at_its_default_is_left_out_of_the_replay_however_it_was_logged():
    from frenk.publishing import replay_command

    for logged in ("false", "False"):  # mlflow run logs MLproject's "false", a direct call str(False)
        assert "params_any_model" not in replay_command({"model": "tiny", "params_any_model": logged}, [42])
    assert "-P params_any_model=true" in replay_command({"model": "tiny", "params_any_model": "true"}, [42])


@pytest.mark.slow
def test_an_evaluate_run_of_the_published_version_appears_on_its_card(store):
    """Issue 22 point 5: the card's Out of domain table, read from the store, in the published folder."""
    from frenk.config import EvaluateConfig
    from frenk.data import PreprocessOptions, prepare, write_prepared
    from frenk.steps import evaluate, publish

    client = mlflow.MlflowClient()
    champion = client.get_model_version_by_alias("frenk-hr", "champion") if any(
        "champion" in v.aliases for v in client.search_model_versions("name='frenk-hr'")) else None
    version = str(champion.version) if champion else store["tiny"].registered_version
    out = store["root"] / "hf-ood"
    publish(PublishConfig(output=str(out), version=version, force=True))
    assert "## Out of domain" not in (out / "README.md").read_text()
    sl = write_prepared(prepare(PreprocessOptions(lang="sl", source="sample")), store["root"] / "data-sl")
    outcome = evaluate(EvaluateConfig(model=f"models:/frenk-hr/{version}", data=str(sl)))
    card = (out / "README.md").read_text()
    table = card.split("## Out of domain", 1)[1].split("\n## ", 1)[0]
    (row,) = [line for line in table.splitlines() if line.startswith("| `")]
    assert f"`{outcome.run_id}`" in row and f"| {outcome.n_comments} |" in row and "| sl / lgbt,migrants |" in row
    assert f"{outcome.metrics['test_macro_f1']:.4f} | {outcome.metrics['test_accuracy']:.4f}" in row
    assert card.startswith("---") and "## Provenance (MLflow)" in card  # the rest of the card is still there

"""Publication: the promotion gate and the Hugging Face model card. Pure code: dicts in,
decisions and text out (MLflow and the Hub are reached through :mod:`frenk.tracking` and
:mod:`frenk.steps`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FRENK_CITATION = """@misc{ljubesic2019frenk,
  title = {The FRENK Datasets of Socially Unacceptable Discourse in Slovene and English},
  author = {Ljube{\\v{s}}i{\\'c}, Nikola and Fi{\\v{s}}er, Darja and Erjavec, Toma{\\v{z}}},
  year = {2019},
  eprint = {1906.02045},
  archivePrefix = {arXiv},
  url = {http://hdl.handle.net/11356/1433}
}"""

LANGUAGE_NAMES = {"hr": "Croatian", "sl": "Slovenian", "en": "English"}


@dataclass
class GateDecision:
    allowed: bool
    reason: str


def gate(report: dict, system: str, has_champion: bool) -> GateDecision:
    """May ``system`` be promoted on the strength of ``report``?

    Yes when, on the report's deciding (first) metric, it is significantly better than every
    system it was compared with; or when it is nowhere significantly worse and at least equal
    within the verdict rules, provided there is no current champion to displace.
    """
    metric = report["metrics"][0]
    comps = [c for c in report["comparisons"] if c["metric"] == metric and system in (c["a"], c["b"])]
    if not comps:
        return GateDecision(False, f"the compare report has no comparison of {system} on {metric}")
    losses = [c for c in comps if c["recommended"]["better"] not in (None, system)]
    ties = [c for c in comps if c["recommended"]["better"] is None]
    if losses:
        return GateDecision(False, "; ".join(f"not supported: {c['recommended']['verdict']}" for c in losses))
    if not ties:
        return GateDecision(True, f"{system} is significantly better than every alternative on {metric}")
    others = ", ".join(c["b"] if c["a"] == system else c["a"] for c in ties)
    if has_champion:
        return GateDecision(
            False,
            f"{system} is not significantly better than {others} on {metric}, and a champion exists: "
            "an equal model does not replace it (force=true overrides)",
        )
    return GateDecision(True, f"{system} is equal to {others} on {metric} within the verdict rules, and there is no champion yet")


def _pm(values: list[float]) -> str:
    arr = np.asarray(values, float)
    sd = arr.std(ddof=1) if len(arr) > 1 else math.nan
    return f"{arr.mean():.4f} ± {sd:.4f}" if len(arr) > 1 else f"{arr.mean():.4f}"


def model_card(info: dict) -> str:
    """The model card (README.md with YAML metadata and model-index) for one published model.

    ``info`` holds: name, version, lang, labels, id2label, system, base_model, data_source,
    synthetic (bool), hyperparameters, published (run id, seed, metrics), seeds (list of
    {run_id, seed, metrics}), report (compare report), compare_run_id, repo_id.
    """
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    lang, pub = info["lang"], info["published"]
    seeds = info["seeds"]
    synthetic = info["synthetic"]
    dataset = "frenk-synthetic-sample" if synthetic else f"classla/FRENK-hate-{lang}"
    dataset_name = (f"synthetic FRENK-shaped sample ({lang})" if synthetic
                    else f"FRENK {LANGUAGE_NAMES[lang]} ({info['labels']})")
    evals = [
        EvalResult(task_type="text-classification", task_name="Hate speech classification", dataset_type=dataset,
                   dataset_name=dataset_name, dataset_split="test", metric_type=kind, metric_name=name,
                   metric_value=round(pub["metrics"][key], 4), metric_config=None)
        for key, kind, name in (("test_accuracy", "accuracy", "Accuracy (published seed)"),
                                ("test_macro_f1", "f1", "Macro F1 (published seed)"))
    ]
    data = ModelCardData(
        language=lang,
        license="other",
        license_name="frenk-derived",
        datasets=None if synthetic else [dataset],
        base_model=info["base_model"] or None,
        tags=["text-classification", "hate-speech-detection", "offensive-language", "frenk", "mlflow"],
        pipeline_tag="text-classification",
        library_name="transformers",
        model_name=info["repo_id"] or info["name"],
        eval_results=evals,
    )
    labels = ", ".join(f"`{v}`" for _, v in sorted(info["id2label"].items()))
    acc = [s["metrics"]["test_accuracy"] for s in seeds]
    f1 = [s["metrics"]["test_macro_f1"] for s in seeds]
    lines = [f"# {info['repo_id'] or info['name']}", ""]
    if synthetic:
        lines += ["> **Demonstration only.** This model was trained on the synthetic FRENK-shaped sample that ships",
                  "> with `frenk` (generated word lists, not real comments). Its scores say nothing about hate-speech",
                  "> detection; do not use it on real text.", ""]
    lines += [
        f"A {LANGUAGE_NAMES[lang]} classifier of socially unacceptable discourse in comments on LGBT and migrant "
        "topics, fine-tuned from "
        + (f"`{info['base_model']}` (the `{info['system']}` preset of frenk)" if info["base_model"]
           else f"a randomly initialised model (the `{info['system']}` preset of frenk, no pre-training)")
        + f". Labels: {labels}.",
        "",
        "## Intended uses and limits",
        "",
        "Intended: research on hate-speech and offensive-language detection; pre-screening of Facebook-style "
        "news comments on LGBT and migrant topics for human moderators; as a baseline in comparisons.",
        "",
        "Out of scope: automated moderation or any decision about people without human review; other "
        f"languages than {LANGUAGE_NAMES[lang]}, other topics, platforms or periods than the training data; "
        "inferring the identity or intent of authors. The data reflects its annotators' judgements and the "
        "media outlets it was collected from; expect errors on irony, quotes and reclaimed terms.",
        "",
        "## Training data",
        "",
        (f"{info['data_source']}." if synthetic else
         f"The {LANGUAGE_NAMES[lang]} part of the FRENK datasets (Facebook comments to news articles on migrants and "
         f"LGBT, annotated with the type and target of socially unacceptable discourse), read as `{info['data_source']}`. "
         f"Labels: {info['labels']} scheme. FRENK is distributed by CLARIN.SI under its own licence "
         "(http://hdl.handle.net/11356/1433); the data is not redistributed with this model, and that licence's "
         "terms (non-commercial use, attribution) may apply to uses of this model."),
        f"Data digest (frenk preprocess): `{info['data_digest']}`.",
        "",
        "```bibtex",
        FRENK_CITATION,
        "```",
        "",
        "## Training procedure",
        "",
        "Fine-tuned with the Hugging Face Trainer through the `frenk` MLflow project "
        f"(`mlflow run . -e train -P model={info['system']} -P repeats={len(seeds)}`). Hyperparameters:",
        "",
        "| parameter | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in info["hyperparameters"].items()]
    lines += [
        "",
        "## Evaluation",
        "",
        f"Test set of FRENK's own train/test split. {len(seeds)} runs with seeds "
        f"{', '.join(str(s['seed']) for s in seeds)}, identical apart from the seed.",
        "",
        "| | accuracy | macro-F1 |",
        "|---|---|---|",
        f"| mean ± sd over {len(seeds)} seeds | {_pm(acc)} | {_pm(f1)} |",
        f"| published seed ({pub['seed']}) | {pub['metrics']['test_accuracy']:.4f} | {pub['metrics']['test_macro_f1']:.4f} |",
        "",
        f"**How the published seed was chosen:** the run with the highest *validation* macro-F1 "
        f"({pub['metrics'].get('final_val_macro_f1', float('nan')):.4f}); test scores played no part in the choice.",
        "",
        "Per topic (test macro-F1 / accuracy):",
        "",
        "| topic | published seed | mean ± sd over seeds |",
        "|---|---|---|",
    ]
    topics = sorted({k.split(".")[1] for k in pub["metrics"] if k.startswith("test_topic.")})
    for t in topics:
        key_f1, key_acc = f"test_topic.{t}.macro_f1", f"test_topic.{t}.accuracy"
        lines.append(
            f"| {t} | {pub['metrics'][key_f1]:.4f} / {pub['metrics'][key_acc]:.4f} | "
            f"{_pm([s['metrics'][key_f1] for s in seeds if key_f1 in s['metrics']])} / "
            f"{_pm([s['metrics'][key_acc] for s in seeds if key_acc in s['metrics']])} |"
        )
    report = info["report"]
    lines += ["", "## Comparison with alternatives", "",
              f"From the `frenk` compare step (significance level {report['alpha']}); the test behind each verdict "
              "follows from the design (paired runs share seed and data) and a Shapiro-Wilk normality check.", "",
              "| metric | compared with | design | n | test | p | p (Holm) | Cohen's d | Cliff's delta | ASO eps_min | verdict |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    system = info["system"]
    for c in report["comparisons"]:
        if system not in (c["a"], c["b"]):
            continue
        other = c["b"] if c["a"] == system else c["a"]
        r, e = c["recommended"], c["effect"]
        sign = 1 if c["a"] == system else -1
        eps = e["aso_eps_min"] if c["a"] == system else e["aso_eps_min_reverse"]
        verdict = ("better" if r["better"] == system else "worse" if r["better"] else "no significant difference")
        holm = f"{r['p_holm']:.4g}" if "p_holm" in r else "n/a"
        lines.append(
            f"| {c['metric']} | {other} | {c['design']} | {c['n_a']} | {r['name']} | {r['p_value']:.4g} | {holm} | "
            f"{sign * e['cohens_d']:.3f} | {sign * e['cliffs_delta']:.3f} | {eps:.3f} | {verdict} |"
        )
    lines += ["", "Verdicts in full:", ""]
    lines += [f"- {c['recommended']['verdict']}" for c in report["comparisons"] if system in (c["a"], c["b"])]
    lines += [
        "",
        "## Provenance (MLflow)",
        "",
        f"- registered model: `{info['name']}` version {info['version']}",
        f"- published run (seed {pub['seed']}): `{pub['run_id']}`",
        "- runs behind the mean ± sd: " + ", ".join(f"`{s['run_id']}`" for s in seeds),
        f"- compare run: `{info['compare_run_id']}`; runs it compared: "
        + "; ".join(f"{name}: " + ", ".join(f"`{r}`" for r in ids) for name, ids in report["runs"].items()),
        "",
        "## Usage",
        "",
        "```python",
        "from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline",
        "",
        f'name = "{info["repo_id"] or "path/to/this/folder"}"',
        "tokenizer = AutoTokenizer.from_pretrained(name)",
        "model = AutoModelForSequenceClassification.from_pretrained(name)  # the Auto class picks the right architecture",
        'classify = pipeline("text-classification", model=model, tokenizer=tokenizer, truncation=True, max_length='
        f'{info["max_length"]})',
        f'print(classify(["{info["example"]}"]))',
        "```",
        "",
    ]
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines)))

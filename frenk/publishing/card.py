"""The Hugging Face model card: a typed :class:`CardFacts` object rendered from the Jinja
template ``templates/model_card.md`` with ``huggingface_hub.ModelCard.from_template`` (YAML
metadata with ``model-index`` and the text). No Markdown is written in Python."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .export import selection_text

TEMPLATE = Path(__file__).resolve().parent / "templates" / "model_card.md"

FRENK_CITATION = """@misc{ljubesic2019frenk,
  title = {The FRENK Datasets of Socially Unacceptable Discourse in Slovene and English},
  author = {Ljube{\\v{s}}i{\\'c}, Nikola and Fi{\\v{s}}er, Darja and Erjavec, Toma{\\v{z}}},
  year = {2019},
  eprint = {1906.02045},
  archivePrefix = {arXiv},
  url = {http://hdl.handle.net/11356/1433}
}"""

LANGUAGE_NAMES = {"hr": "Croatian", "sl": "Slovenian", "en": "English"}
EXAMPLES = {"hr": "Ovo je primjer komentara.", "sl": "To je primer komentarja.", "en": "This is an example comment."}
#: card name of a hyperparameter -> the train run parameter that holds the value used
#: card row -> run parameter(s): the first present ("resolved_*" where ``mlflow run`` logged the given 0)
HYPERPARAMETERS = {
    "epochs": ("resolved_epochs", "epochs"), "learning_rate": ("resolved_learning_rate", "learning_rate"),
    "batch_size (effective)": ("resolved_batch_size", "batch_size"),
    "per_device_batch_size": "per_device_batch_size", "gradient_accumulation_steps": "gradient_accumulation_steps",
    "max_length": "max_length", "precision": "resolved_precision", "labels": "labels", "device": "device",
    "warmup_ratio": "warmup_ratio", "weight_decay": "weight_decay",
}


@dataclass
class RunFacts:
    """What the card needs of one MLflow run (the tracking package fills it)."""

    run_id: str
    tags: dict[str, str]
    params: dict[str, str]
    metrics: dict[str, float]

    @property
    def seed(self) -> str | None:
        return self.tags.get("frenk.seed")


@dataclass
class ComparisonRow:
    metric: str
    other: str
    design: str
    n: int
    test: str
    p: float
    p_holm: float | None
    cohens_d: float
    cliffs_delta: float
    aso_eps_min: float
    verdict: str
    full_verdict: str


def base_model_of(model_id: str) -> str | None:
    """The Hub id a model was fine-tuned from; None for the tiny preset and local folders."""
    if not model_id or model_id in ("tiny", "tfidf") or Path(model_id).is_absolute():
        return None
    return model_id


def mean_sd(values: list[float]) -> str:
    """``mean ± sd`` (sample sd) with four decimals; the mean alone for one value."""
    arr = np.asarray(values, float)
    return f"{arr.mean():.4f} ± {arr.std(ddof=1):.4f}" if len(arr) > 1 else f"{arr.mean():.4f}"


@dataclass
class CardFacts:
    """Everything the model card says, as data."""

    name: str
    version: str
    lang: str
    labels: str
    id2label: dict[int, str]
    system: str
    base_model: str | None
    data_source: str
    data_digest: str
    synthetic: bool
    hyperparameters: dict[str, str]
    published: RunFacts
    seeds: list[RunFacts]
    report: dict
    compare_run_id: str
    repo_id: str = ""
    max_length: int = 128
    tune_run: str | None = None
    citation: str = field(default=FRENK_CITATION)

    @property
    def title(self) -> str:
        return self.repo_id or self.name

    @property
    def language_name(self) -> str:
        return LANGUAGE_NAMES[self.lang]

    @property
    def label_names(self) -> list[str]:
        return [v for _, v in sorted(self.id2label.items())]

    @property
    def example(self) -> str:
        return EXAMPLES[self.lang]

    @property
    def seed_list(self) -> str:
        return ", ".join(str(s.seed) for s in self.seeds)

    @property
    def system_choice(self) -> str:
        """How the system was chosen (by validation, or by whoever published it)."""
        return selection_text(self.report, self.system)

    @property
    def topics(self) -> list[str]:
        return sorted({k.split(".")[1] for k in self.published.metrics if k.startswith("test_topic.")})

    def spread(self, metric: str) -> str:
        """Mean ± sd of ``metric`` over the seeds."""
        return mean_sd([s.metrics[metric] for s in self.seeds if metric in s.metrics])

    def comparison_rows(self) -> list[ComparisonRow]:
        """The report's comparisons of this system, seen from its side."""
        rows = []
        for c in self.report["comparisons"]:
            if self.system not in (c["a"], c["b"]):
                continue
            first = c["a"] == self.system
            r, e = c["recommended"], c["effect"]
            sign = 1 if first else -1
            verdict = "better" if r["better"] == self.system else "worse" if r["better"] else "no significant difference"
            rows.append(ComparisonRow(
                metric=c["metric"], other=c["b"] if first else c["a"], design=c["design"], n=c["n_a"], test=r["name"],
                p=r["p_value"], p_holm=r.get("p_holm"), cohens_d=sign * e["cohens_d"], cliffs_delta=sign * e["cliffs_delta"],
                aso_eps_min=e["aso_eps_min"] if first else e["aso_eps_min_reverse"], verdict=verdict,
                full_verdict=r["verdict"]))
        return rows


def _names(params: str | tuple[str, ...]) -> tuple[str, ...]:
    return (params,) if isinstance(params, str) else params


def card_facts(name: str, version: str, published: RunFacts, seeds: list[RunFacts], report: dict, compare_run_id: str,
               id2label: dict[int, str], repo_id: str = "", lang: str = "hr") -> CardFacts:
    """The card's facts from the published run, its sibling seed runs and the compare report."""
    tags, params = published.tags, published.params
    return CardFacts(
        name=name, version=version, lang=tags.get("frenk.lang", lang), labels=tags.get("frenk.labels", "?"),
        id2label=id2label, system=tags.get("frenk.model", "?"), base_model=base_model_of(tags.get("frenk.model_id", "")),
        data_source=tags.get("frenk.data_source", params.get("data", "?")), data_digest=tags.get("frenk.data_digest", "?"),
        synthetic=params.get("data") == "sample" or "synthetic sample" in tags.get("frenk.data_source", ""),
        hyperparameters={k: next(params[p] for p in _names(ps) if p in params)
                         for k, ps in HYPERPARAMETERS.items() if any(p in params for p in _names(ps))},
        published=published, seeds=sorted(seeds, key=lambda r: int(r.seed or 0)), report=report,
        compare_run_id=compare_run_id, repo_id=repo_id, max_length=int(float(params.get("max_length", 128))),
        tune_run=tags.get("frenk.tune_run"),
    )


def _metadata(facts: CardFacts):
    from huggingface_hub import EvalResult, ModelCardData

    dataset = "frenk-synthetic-sample" if facts.synthetic else f"classla/FRENK-hate-{facts.lang}"
    dataset_name = (f"synthetic FRENK-shaped sample ({facts.lang})" if facts.synthetic
                    else f"FRENK {facts.language_name} ({facts.labels})")
    evals = [
        EvalResult(task_type="text-classification", task_name="Hate speech classification", dataset_type=dataset,
                   dataset_name=dataset_name, dataset_split="test", metric_type=kind, metric_name=label,
                   metric_value=round(facts.published.metrics[key], 4), metric_config=None)
        for key, kind, label in (("test_accuracy", "accuracy", "Accuracy (published seed)"),
                                 ("test_macro_f1", "f1", "Macro F1 (published seed)"))
    ]
    return ModelCardData(
        language=facts.lang, license="other", license_name="frenk-derived",
        datasets=None if facts.synthetic else [dataset], base_model=facts.base_model or None,
        tags=["text-classification", "hate-speech-detection", "offensive-language", "frenk", "mlflow"],
        pipeline_tag="text-classification", library_name="transformers", model_name=facts.title, eval_results=evals,
    )


def render_card(facts: CardFacts) -> str:
    """The model card (README.md) of one published model."""
    from huggingface_hub import ModelCard

    return str(ModelCard.from_template(_metadata(facts), template_path=str(TEMPLATE), card=facts, nan=math.nan))

"""Which runs a comparison counts: run records in (as read from MLflow by :mod:`frenk.tracking`),
the usable runs by system out, with the reason each other run is left out."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.choices import MIN_DIFFERENCE
from ..core.errors import FrenkError
from ..core.names import Tag, search_tag
from .twolevel import N_RESAMPLES, look_alpha


@dataclass
class RunRecord:
    """One finished per-seed train run, as a sample of its system's score distribution."""

    run_id: str
    system: str
    seed: str | None
    data_digest: str | None
    metrics: dict[str, float]
    status: str = "FINISHED"
    #: start time (ms since the epoch): of two runs of one system, seed and data, the newer counts
    start_time: int | None = None
    is_parent: bool = False
    #: the status of the run's parent (a training with repeats), None when it has no parent
    parent_status: str | None = None
    #: where the run is (the compare run goes to the same experiment) and what it was trained for
    experiment_id: str | None = None
    lang: str | None = None
    labels: str | None = None
    #: the artifact that holds the run's per-class, per-topic and per-fold results (None: its metrics hold them)
    results_table: str | None = None
    #: the classes its macro-F1 averages over (None: not known)
    scored_classes: tuple[str, ...] | None = None
    #: the tune run whose best parameters it trained with (None: untuned, the preset's defaults)
    tune_run: str | None = None
    #: the seeds of its initialisation and of its data order (tags frenk.init_seed, frenk.data_seed);
    #: None for a run logged before the two were separated, whose one seed was both
    init_seed: str | None = None
    data_seed: str | None = None

    @property
    def seed_key(self) -> tuple[str, str] | None:
        """(init seed, data seed): what two runs share when they share their randomness (a run
        without the two tags used ``seed`` for both); None when the run has no seed."""
        if self.seed is None and (self.init_seed is None or self.data_seed is None):
            return None
        return (self.init_seed or str(self.seed)), (self.data_seed or str(self.seed))

    @property
    def seed_text(self) -> str:
        """``seed 43``, with its two sources when they differ from it: ``seed 43 (init 43, data 42)``."""
        init, data = self.seed_key or (None, None)
        return f"seed {self.seed}" + ("" if init == data == self.seed else f" (init {init}, data {data})")


@dataclass
class Skipped:
    run_id: str
    system: str
    reason: str


@dataclass
class CompareOptions:
    metrics: tuple[str, ...] = ("macro_f1", "accuracy")
    baseline: str | None = None
    alpha: float = 0.05
    allow_mixed_data: bool = False
    bootstrap_resamples: int = 2000
    seed: int = 0
    #: "none": every run of each system, independent samples; "seed": paired by seed and data digest
    pairing: str = "none"
    #: the practical margin (metric units): "better" only when the interval lies above it
    min_difference: float = MIN_DIFFERENCE
    #: which look at this test set the comparison is (None: not counted; alpha is used as given)
    look: int | None = None
    #: resamples of the two-level bootstrap
    two_level_resamples: int = N_RESAMPLES

    @property
    def alpha_used(self) -> float:
        """The alpha this look spends (:func:`~.twolevel.look_alpha`), ``alpha`` when looks are not counted."""
        return self.alpha if self.look is None else look_alpha(self.alpha, self.look)

    @property
    def next_alpha(self) -> float:
        """The alpha the next look will spend (what a plan for the next batch sizes for)."""
        return self.alpha if self.look is None else look_alpha(self.alpha, self.look + 1)


def metric_key(metrics: dict[str, float], name: str) -> str | None:
    """A run's key for ``name``: ``test_<name>`` (what train logs) or ``name`` itself."""
    for key in (f"test_{name}", name):
        if key in metrics:
            return key
    return None


def metric_value(metrics: dict[str, float], name: str) -> float:
    """A run's value of ``name`` under its :func:`metric_key`; the run must have it."""
    key = metric_key(metrics, name)
    if key is None:
        raise KeyError(name)
    return metrics[key]


def select_samples(records: list[RunRecord],
                   metrics: tuple[str, ...]) -> tuple[dict[str, list[RunRecord]], list[Skipped]]:
    """Group usable runs by system; list the others with the reason they are left out. Of
    several finished runs of one system with the same seed and data digest, only the newest
    counts (so a rerun never changes the pairing or the sample size)."""
    samples: dict[str, list[RunRecord]] = {}
    skipped: list[Skipped] = []
    for r in records:
        if r.is_parent:
            skipped.append(Skipped(r.run_id, r.system, "parent run of repeats (its child runs are the samples)"))
        elif r.status != "FINISHED":
            skipped.append(Skipped(r.run_id, r.system, f"status {r.status}"))
        elif r.parent_status not in (None, "FINISHED"):
            skipped.append(Skipped(r.run_id, r.system, f"its parent run did not finish (status {r.parent_status})"))
        elif missing := [m for m in metrics if metric_key(r.metrics, m) is None]:
            skipped.append(Skipped(r.run_id, r.system, f"no metric {', '.join(missing)}"))
        else:
            samples.setdefault(r.system, []).append(r)
    for system, runs in samples.items():
        samples[system], duplicates = newest_per_seed(runs)
        skipped.extend(duplicates)
    return samples, skipped


def newest_per_seed(runs: list[RunRecord]) -> tuple[list[RunRecord], list[Skipped]]:
    """One system's runs with one run per (init and data seed, data digest): the newest (by start time, then
    run id); the others as skipped, naming the run that counts instead. Order is kept."""
    newest: dict[tuple, RunRecord] = {}
    for r in runs:
        key = (r.seed_key, r.data_digest)
        if r.seed_key is None:
            continue
        if key not in newest or (r.start_time or 0, r.run_id) > (newest[key].start_time or 0, newest[key].run_id):
            newest[key] = r
    kept = [r for r in runs if r.seed_key is None or newest[(r.seed_key, r.data_digest)] is r]
    skipped = [
        Skipped(r.run_id, r.system, f"duplicate: {r.seed_text} on the same data as the newer run "
                f"{newest[(r.seed_key, r.data_digest)].run_id}, which counts instead")
        for r in runs if r.seed_key is not None and newest[(r.seed_key, r.data_digest)] is not r
    ]
    return kept, skipped


def check_comparable(records: list[RunRecord],
                     opts: CompareOptions) -> tuple[dict[str, list[RunRecord]], list[Skipped], set]:
    """The usable runs by system, the skipped runs and the data digests; raise
    :class:`FrenkError` when no sound comparison can be made (no runs, one system, a system
    with fewer than 2 runs, or runs on different data unless allowed)."""
    if not records:
        raise FrenkError("no runs match: check group/filter and the experiment "
                         f"(train runs carry {search_tag(Tag.GROUP)})")
    samples, skipped = select_samples(records, opts.metrics)
    if len(samples) < 2:
        found = ", ".join(f"{s} ({len(r)} usable runs)" for s, r in samples.items()) or "none"
        raise FrenkError(f"need at least two systems to compare, found {found}; skipped: {len(skipped)} runs")
    few = {s: len(r) for s, r in samples.items() if len(r) < 2}
    if few:
        raise FrenkError(
            f"each system needs at least 2 runs (seeds), but {', '.join(f'{s} has {n}' for s, n in few.items())}; "
            "train with -P repeats=10"
        )
    digests = {r.data_digest for runs in samples.values() for r in runs}
    if len(digests) > 1 and not opts.allow_mixed_data:
        by_system = {s: sorted({(r.data_digest or "?")[:12] for r in runs}) for s, runs in samples.items()}
        raise FrenkError(
            f"the runs were trained on different data (data digests {by_system}); scores on different data are not "
            "comparable. Select runs on the same data or pass allow_mixed_data=true"
        )
    return samples, skipped, digests


def validation_key(metric: str) -> str:
    """The run metric that holds the validation score of ``metric`` (what train logs)."""
    return f"final_val_{metric}"

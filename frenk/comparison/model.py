"""The compare report as typed data: what :func:`~frenk.comparison.build_report` returns and what
the Markdown report, plots, gate, card, tracking and steps read (attributes, never keys).

``to_dict()`` gives the layout of ``report.json`` (the keys reports had before this module,
plus ``"version"``); ``from_dict()`` reads that layout and the older ones (a key a report of an
older frenk lacks takes its empty value), so compare runs already in a store are still read by
publish and main.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..core.errors import FrenkError
from .interval import Plan
from .parts import Effect, ExampleView, FoldView, Normality, Power, ReportedTest, Verdict
from .selection import Skipped
from .stability import Stability
from .twolevel import TwoLevelResult
from .variance_split import VarianceSplit

#: the layout of report.json that :meth:`ComparisonReport.to_dict` writes; reports without
#: ``"version"`` are layout 1 (the same keys, some missing in the oldest); 5 added ``stability``
REPORT_VERSION = 5

NAN = float("nan")


@dataclass(frozen=True)
class PairResult:
    """All tests of one metric for one pair of systems, and the primary test's verdict."""

    metric: str
    a: str
    b: str
    design: str  # "paired" or "independent"
    pairing: str
    n_a: int
    n_b: int
    mean_difference: float
    tests: dict[str, ReportedTest]
    warnings: tuple[str, ...]
    normality: Normality
    verdict: Verdict  # "recommended" in report.json
    effect: Effect
    power: Power
    scores: dict[str, list[float]]
    class_note: str | None = None
    fold_view: FoldView | None = None
    #: the per-example view; report.json holds its key only where it was tried (macro_f1 with
    #: predictions), null when a system had no predictions
    example_view: ExampleView | None = None
    example_view_tried: bool = False
    #: runs that the declared pairing=seed left out of the paired test (no partner), by system
    not_paired: dict[str, list[str]] = field(default_factory=dict)
    #: the seed-level t interval of the mean difference at 1 - alpha (nan: no spread; None: an older report)
    seed_ci: tuple[float, float] | None = None
    #: the two-level bootstrap (seeds and test comments); None where it could not be made (``level_note``)
    two_level: TwoLevelResult | None = None
    level_note: str | None = None
    #: the seeds per system for the next look (on the deciding metric)
    plan: Plan | None = None
    #: the verdict without the runs flagged degenerate (None: none was flagged)
    without_degenerate: str | None = None

    @property
    def paired(self) -> bool:
        return self.design == "paired"

    def other(self, system: str) -> str:
        """The system ``system`` was compared with."""
        return self.b if self.a == system else self.a

    def to_dict(self) -> dict:
        d = {"metric": self.metric, "a": self.a, "b": self.b, "design": self.design, "pairing": self.pairing,
             "n_a": self.n_a, "n_b": self.n_b, "mean_difference": self.mean_difference,
             "tests": {k: t.to_dict() for k, t in self.tests.items()}, "warnings": list(self.warnings),
             "normality": self.normality.to_dict(), "recommended": self.verdict.to_dict(),
             "effect": self.effect.to_dict(), "power": self.power.to_dict(), "scores": self.scores,
             "class_note": self.class_note, "fold_view": self.fold_view.to_dict() if self.fold_view else None}
        if self.example_view_tried:
            d["example_view"] = self.example_view.to_dict() if self.example_view else None
        return {**d, "not_paired": self.not_paired, "seed_ci": list(self.seed_ci) if self.seed_ci else None,
                "two_level": self.two_level.to_dict() if self.two_level else None, "level_note": self.level_note,
                "plan": self.plan.to_dict() if self.plan else None, "without_degenerate": self.without_degenerate}

    @classmethod
    def from_dict(cls, d: dict) -> PairResult:
        ev = d.get("example_view")
        return cls(
            d.get("metric", ""), d.get("a", ""), d.get("b", ""), d.get("design", ""), d.get("pairing", ""),
            d.get("n_a", 0), d.get("n_b", 0), d.get("mean_difference", NAN),
            {k: ReportedTest.from_dict(t) for k, t in d.get("tests", {}).items()}, tuple(d.get("warnings", ())),
            Normality.from_dict(d.get("normality")), Verdict.from_dict(d.get("recommended")),
            Effect.from_dict(d.get("effect")), Power.from_dict(d.get("power")), d.get("scores", {}),
            d.get("class_note"), FoldView.from_dict(d.get("fold_view")),
            ExampleView.from_dict(ev) if ev else None, "example_view" in d, d.get("not_paired", {}),
            tuple(d["seed_ci"]) if d.get("seed_ci") else None, TwoLevelResult.from_dict(d.get("two_level")),
            d.get("level_note"), Plan.from_dict(d.get("plan")), d.get("without_degenerate"),
        )


@dataclass(frozen=True)
class Descriptive:
    """One system's scores on one metric: n, mean, sd, median, the 95% CI of the mean, the values."""

    n: int
    mean: float
    sd: float
    median: float
    ci_low: float
    ci_high: float
    values: list[float]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Descriptive:
        values = d.get("values", [])
        return cls(d.get("n", len(values)), d.get("mean", NAN), d.get("sd", NAN), d.get("median", NAN),
                   d.get("ci_low", NAN), d.get("ci_high", NAN), values)


@dataclass(frozen=True)
class Friedman:
    """The Friedman test over the seeds all systems share, with the Nemenyi critical difference."""

    statistic: float
    p_value: float
    average_ranks: dict[str, float]
    critical_difference: float
    n: int
    #: how p was computed: "exact permutation", or "chi-square approximation" (and in older reports)
    method: str = "chi-square approximation"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Friedman:
        return cls(d.get("statistic", NAN), d.get("p_value", NAN), d.get("average_ranks", {}),
                   d.get("critical_difference", NAN), d.get("n", 0), d.get("method", "chi-square approximation"))


@dataclass(frozen=True)
class ValidationChoice:
    """The systems ranked by mean validation score over seeds (a choice that never looks at the
    test set) and the test-set verdicts of the first; ``system`` None when none logged it."""

    metric: str
    ranking: tuple[str, ...]
    means: dict[str, float]
    system: str | None
    test_verdicts: tuple[str, ...]
    text: str

    def to_dict(self) -> dict:
        d: dict = {"metric": self.metric, "ranking": list(self.ranking)}
        if self.ranking:
            d["means"] = self.means
        return {**d, "system": self.system, "test_verdicts": list(self.test_verdicts), "text": self.text}

    @classmethod
    def from_dict(cls, d: dict) -> ValidationChoice:
        return cls(d.get("metric", ""), tuple(d.get("ranking", ())), d.get("means", {}), d.get("system"),
                   tuple(d.get("test_verdicts", ())), d.get("text", ""))


def _by_metric(d: dict | None) -> dict[str, dict[str, Descriptive]]:
    return {m: {s: Descriptive.from_dict(x) for s, x in by.items()} for m, by in (d or {}).items()}


@dataclass(frozen=True)
class ComparisonReport:
    """A whole comparison: what was compared, the scores by metric and system, every pair's
    result, Friedman where there are 3+ systems, the warnings and the decision."""

    alpha: float
    metrics: tuple[str, ...]
    systems: tuple[str, ...]
    baseline: str | None
    runs: dict[str, list[str]]
    seeds: dict[str, list[str | None]]
    data_digests: tuple[str, ...]
    skipped: tuple[Skipped, ...]
    protocol: str | None
    descriptives: dict[str, dict[str, Descriptive]]
    validation: dict[str, dict[str, Descriptive]]
    comparisons: tuple[PairResult, ...]
    friedman: dict[str, Friedman]
    warnings: tuple[str, ...]
    best_system: str | None
    summary: str
    validation_choice: ValidationChoice | None = None
    #: how the compared runs were selected (the compare step's group, filter, by, experiment)
    selection: dict[str, str] | None = None
    #: the declared design (``pairing``: "none" or "seed"); a report from before the declaration
    #: reads as the design it recorded per pair ("seed" when a pair was paired)
    pairing: str = "none"
    #: the practical margin in metric units (0 in a report from before it)
    min_difference: float = 0.0
    #: which look at this test set (systems, metric and data) this compare is; None: not counted
    look: int | None = None
    #: the alpha the verdicts used (the look's share of ``alpha``); None: ``alpha`` itself
    alpha_used: float | None = None
    #: the decisions taken so far on each test data digest, this one included
    decisions: dict[str, int] = field(default_factory=dict)
    #: the runs flagged degenerate (predicting one class, or no better than the majority class), by system
    degenerate: dict[str, list[str]] = field(default_factory=dict)
    #: each system's tuning budget in words (empty in a report from before it)
    tuning: dict[str, str] = field(default_factory=dict)
    #: by system, how much of its spread on the deciding metric its init seeds and its data seeds
    #: explain, where its runs cross the two (empty: no system did, or a report from before it)
    variance_splits: dict[str, VarianceSplit] = field(default_factory=dict)
    #: how stable the systems' predictions are across seeds and systems (None: a report from before layout 5)
    stability: Stability | None = None

    @property
    def decision_alpha(self) -> float:
        """The alpha the verdicts were decided at."""
        return self.alpha if self.alpha_used is None else self.alpha_used

    @property
    def primary_metric(self) -> str:
        """The deciding metric: the first."""
        return self.metrics[0]

    @property
    def choice_text(self) -> str:
        """How the system was chosen on validation, in one sentence ("" in a report from before that choice)."""
        return self.validation_choice.text if self.validation_choice else ""

    def pairs_of(self, system: str, metric: str | None = None) -> list[PairResult]:
        """The comparisons that include ``system`` (on ``metric`` when given)."""
        return [c for c in self.comparisons if system in (c.a, c.b) and metric in (None, c.metric)]

    def mean(self, metric: str, system: str) -> float | None:
        """``system``'s mean test score on ``metric``; None when the report has none."""
        d = self.descriptives.get(metric, {}).get(system)
        return float(d.mean) if d is not None and isinstance(d.mean, (int, float)) and d.mean == d.mean else None

    def to_dict(self) -> dict:
        d = {
            "alpha": self.alpha, "metrics": list(self.metrics), "systems": list(self.systems),
            "baseline": self.baseline, "runs": self.runs, "seeds": self.seeds, "data_digests": list(self.data_digests),
            "skipped": [asdict(s) for s in self.skipped], "protocol": self.protocol,
            "descriptives": {m: {s: x.to_dict() for s, x in by.items()} for m, by in self.descriptives.items()},
            "validation": {m: {s: x.to_dict() for s, x in by.items()} for m, by in self.validation.items()},
            "comparisons": [c.to_dict() for c in self.comparisons],
            "friedman": {m: f.to_dict() for m, f in self.friedman.items()}, "warnings": list(self.warnings),
            "best_system": self.best_system, "summary": self.summary,
        }
        if self.validation_choice is not None:
            d["validation_choice"] = self.validation_choice.to_dict()
        if self.selection is not None:
            d["selection"] = self.selection
        if self.variance_splits:  # only where a system crossed its seeds: the layout of every other report is kept
            d["variance_splits"] = {s: v.to_dict() for s, v in self.variance_splits.items()}
        return {**d, "pairing": self.pairing, "min_difference": self.min_difference, "look": self.look,
                "alpha_used": self.alpha_used, "decisions": self.decisions, "degenerate": self.degenerate,
                "tuning": self.tuning, "stability": self.stability.to_dict() if self.stability else None,
                "version": REPORT_VERSION}

    @classmethod
    def from_dict(cls, d: dict) -> ComparisonReport:
        """A report from report.json of this layout or an older one (no ``version``: layout 1)."""
        version = d.get("version", 1)
        if not isinstance(version, int) or version > REPORT_VERSION:
            raise FrenkError(f"report.json has layout version {version!r}, newer than this frenk reads "
                             f"({REPORT_VERSION}); upgrade frenk to read this compare run")
        choice = d.get("validation_choice")
        comparisons = tuple(PairResult.from_dict(c) for c in d.get("comparisons", ()))
        pairing = d.get("pairing") or ("seed" if any(c.paired for c in comparisons) else "none")
        return cls(
            d.get("alpha", 0.05), tuple(d.get("metrics", ())), tuple(d.get("systems", ())), d.get("baseline"),
            d.get("runs", {}), d.get("seeds", {}), tuple(d.get("data_digests", ())),
            tuple(Skipped(s.get("run_id", ""), s.get("system", ""), s.get("reason", "")) for s in d.get("skipped", ())),
            d.get("protocol"), _by_metric(d.get("descriptives")), _by_metric(d.get("validation")),
            comparisons, {m: Friedman.from_dict(f) for m, f in d.get("friedman", {}).items()},
            tuple(d.get("warnings", ())),
            d.get("best_system"), d.get("summary", ""), ValidationChoice.from_dict(choice) if choice else None,
            d.get("selection"), pairing, d.get("min_difference", 0.0), d.get("look"), d.get("alpha_used"),
            d.get("decisions", {}), d.get("degenerate", {}), d.get("tuning", {}),
            {s: VarianceSplit.from_dict(v) for s, v in (d.get("variance_splits") or {}).items()},
            Stability.from_dict(d.get("stability")),
        )

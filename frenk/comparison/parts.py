"""The parts of one pair's result in the typed compare report (:mod:`.model`): its tests,
normality, verdict, effect sizes, power and the per-fold and per-example views. Each has
``to_dict()`` (its part of report.json) and a lenient ``from_dict()`` (older reports lack some keys).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .stats import BootstrapResult, TestResult

#: what a test's note says where n < 3 leaves normality untestable
NOT_TESTABLE = "n < 3: not testable"


def _test(d: dict | None) -> TestResult | None:
    if not d or "p_value" not in d:
        return None
    return TestResult(d.get("name", ""), d.get("statistic", float("nan")), d["p_value"], d.get("note", ""))


@dataclass(frozen=True)
class ReportedTest:
    """A test of one pair as reported: the result, and the smallest p it could give with these runs."""

    name: str
    statistic: float
    p_value: float
    note: str = ""
    smallest_possible_p: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ReportedTest:
        return cls(d.get("name", ""), d.get("statistic", float("nan")), d.get("p_value", float("nan")),
                   d.get("note", ""), d.get("smallest_possible_p"))


@dataclass(frozen=True)
class Normality:
    """Shapiro-Wilk of the paired differences (``result``) or of each sample (``by_system``);
    None where n < 3 leaves it untestable."""

    of: str
    result: TestResult | None = None
    by_system: dict[str, TestResult | None] = field(default_factory=dict)

    def to_dict(self) -> dict:
        def one(t: TestResult | None) -> dict:
            return t.as_dict() if t else {"note": NOT_TESTABLE}

        if self.of == "paired differences":
            return {"of": self.of, **one(self.result)}
        return {"of": self.of, **{s: one(t) for s, t in self.by_system.items()}}

    @classmethod
    def from_dict(cls, d: dict | None) -> Normality:
        d = d or {}
        by_system = {k: _test(v) for k, v in d.items() if isinstance(v, dict)}
        return cls(d.get("of", ""), _test(d), by_system)


@dataclass(frozen=True)
class Verdict:
    """The primary test's decision on one pair (``recommended`` in report.json; ``text`` is its
    ``verdict``). ``p_holm`` is set when several pairs were Holm-corrected."""

    test: str
    name: str
    p_value: float
    reason: str = ""
    #: the test was fixed by the design before the data (None: a report from before that protocol)
    primary: bool | None = True
    smallest_possible_p: float | None = None
    p_holm: float | None = None
    significant: bool = False
    better: str | None = None
    text: str = ""
    #: the level the call was made at: "seeds and test comments" or "seeds" ("" in an older report)
    level: str = ""
    #: "better", "equivalent" or "undecided" ("" in an older report: read ``better``)
    call: str = ""
    margin: float = 0.0

    @property
    def p(self) -> float:
        """The p-value that decides: Holm-adjusted when there are several pairs."""
        return self.p_value if self.p_holm is None else self.p_holm

    def to_dict(self) -> dict:
        d: dict = {"test": self.test, "name": self.name, "p_value": self.p_value, "reason": self.reason}
        if self.primary is not None:
            d["primary"] = self.primary
        d["smallest_possible_p"] = self.smallest_possible_p
        if self.p_holm is not None:
            d["p_holm"] = self.p_holm
        d = {**d, "significant": self.significant, "better": self.better, "verdict": self.text}
        return {**d, "level": self.level, "call": self.call, "margin": self.margin} if self.level else d

    @classmethod
    def from_dict(cls, d: dict | None) -> Verdict:
        d = d or {}
        return cls(d.get("test", ""), d.get("name", ""), d.get("p_value", float("nan")), d.get("reason", ""),
                   d.get("primary"), d.get("smallest_possible_p"), d.get("p_holm"),
                   bool(d.get("significant", d.get("better") is not None)), d.get("better"), d.get("verdict", ""),
                   d.get("level", ""), d.get("call", ""), d.get("margin", 0.0))


@dataclass(frozen=True)
class Effect:
    cohens_d: float
    cohens_d_kind: str
    cliffs_delta: float
    aso_eps_min: float
    aso_eps_min_reverse: float
    #: Cohen's d with Hedges' small-sample correction J(df) (nan in a report from before it)
    hedges_g: float = float("nan")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> Effect:
        d, nan = d or {}, float("nan")
        return cls(d.get("cohens_d", nan), d.get("cohens_d_kind", ""), d.get("cliffs_delta", nan),
                   d.get("aso_eps_min", nan), d.get("aso_eps_min_reverse", nan), d.get("hedges_g", nan))


@dataclass(frozen=True)
class Power:
    """Seeds per system for power 0.8 (None: nothing to compute from), its 95% range, and the
    minimum detectable difference of the primary t-test at this run count."""

    seeds_needed: float | None
    seeds_needed_interval: tuple[float | None, float | None] | None
    min_detectable_difference: float | None
    sd: float | None
    note: str

    def to_dict(self) -> dict:
        span = list(self.seeds_needed_interval) if self.seeds_needed_interval else None
        return {"seeds_needed": self.seeds_needed, "seeds_needed_interval": span,
                "min_detectable_difference": self.min_detectable_difference, "sd": self.sd, "note": self.note}

    @classmethod
    def from_dict(cls, d: dict | None) -> Power:
        d = d or {}
        span = d.get("seeds_needed_interval")
        return cls(d.get("seeds_needed"), (span[0], span[1]) if span else None, d.get("min_detectable_difference"),
                   d.get("sd"), d.get("note", ""))


@dataclass(frozen=True)
class FoldView:
    """Per-fold test metrics (averaged over each system's runs), paired by fold."""

    n_folds: int
    mean_difference: float
    paired_t: TestResult
    wilcoxon: TestResult

    def to_dict(self) -> dict:
        return {"n_folds": self.n_folds, "mean_difference": self.mean_difference,
                "paired_t": self.paired_t.as_dict(), "wilcoxon": self.wilcoxon.as_dict()}

    @classmethod
    def from_dict(cls, d: dict | None) -> FoldView | None:
        paired_t, wilcoxon = _test((d or {}).get("paired_t")), _test((d or {}).get("wilcoxon"))
        if d is None or paired_t is None or wilcoxon is None:
            return None
        return cls(d.get("n_folds", 0), d.get("mean_difference", float("nan")), paired_t, wilcoxon)


@dataclass(frozen=True)
class ExampleView:
    """McNemar and a paired bootstrap of macro-F1 on the test examples of each system's best run;
    only ``note`` when the two runs' predictions do not cover the same examples."""

    note: str | None = None
    runs: dict[str, str] = field(default_factory=dict)
    n_examples: int = 0
    mcnemar: TestResult | None = None
    bootstrap_macro_f1: BootstrapResult | None = None

    def to_dict(self) -> dict:
        if self.mcnemar is None or self.bootstrap_macro_f1 is None:
            return {"note": self.note}
        return {"runs": self.runs, "n_examples": self.n_examples, "mcnemar": self.mcnemar.as_dict(),
                "bootstrap_macro_f1": asdict(self.bootstrap_macro_f1)}

    @classmethod
    def from_dict(cls, d: dict) -> ExampleView:
        boot = d.get("bootstrap_macro_f1")
        return cls(d.get("note"), d.get("runs", {}), d.get("n_examples", 0), _test(d.get("mcnemar")),
                   BootstrapResult(**boot) if boot else None)

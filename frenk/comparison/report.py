"""The compare report as Markdown (report.md, and the terminal)."""

from __future__ import annotations

from .direction import oriented
from .model import ComparisonReport, PairResult
from .verdict import PROTOCOL, fmt, variance_split_text


def _header(report: ComparisonReport) -> list[str]:
    """The protocol (stated before any data), then the summary line."""
    lines = ["# Model comparison", "", f"**Protocol.** {report.protocol or PROTOCOL}.", "",
             f"**{report.summary}.**", ""]
    if report.variance_splits:
        lines += ["**Sources of randomness** (method of moments over the crossed init and data seeds):", ""]
        lines += [f"- {variance_split_text(s, v)}." for s, v in report.variance_splits.items()] + [""]
    choice = report.validation_choice
    if choice and choice.system:
        lines += [f"**Selection:** {choice.text}:", ""] + [f"- {v}" for v in choice.test_verdicts] + [""]
    lines += [f"alpha = {report.alpha}; systems: {', '.join(report.systems)}"
              + (f"; baseline: {report.baseline}" if report.baseline else ""), ""]
    return lines + _decision_lines(report)


def _decision_lines(report: ComparisonReport) -> list[str]:
    """The margin, the look and its alpha, the decisions on the test data, and each deciding verdict's interval."""
    lines = [f"**Margin:** min_difference = {fmt(report.min_difference)} (metric units): better means the interval "
             "lies above it, equivalent within plus or minus it, otherwise undecided."]
    if report.look is not None:
        lines.append(f"**Look {report.look}** at this test set for these systems and this metric: it spends alpha "
                     f"{fmt(report.alpha_used)} of {report.alpha} (look k spends alpha / 2^k, so all looks together "
                     f"stay below {report.alpha}).")
    lines += [f"**Decisions on test data {d[:12]}:** {n} so far, this one included."
              for d, n in report.decisions.items()]
    if report.tuning:
        lines.append("**Tuning budgets:** " + "; ".join(f"{s}: {t}" for s, t in report.tuning.items()) + ".")
    primary = [c for c in report.comparisons if c.metric == report.primary_metric]
    if primary and primary[0].verdict.level:
        lines += ["", "| pair | level | difference | interval | P(a ahead) | call | plan: seeds per system |",
                  "|---|---|---|---|---|---|---|"]
        for c in primary:
            tl, low_high = c.two_level, c.seed_ci or (None, None)
            interval = (tl.ci_low, tl.ci_high) if tl else low_high
            lines.append(f"| {c.a} vs {c.b} | {c.verdict.level} | {fmt(tl.difference if tl else c.mean_difference)} "
                         f"| [{fmt(interval[0])}, {fmt(interval[1])}] | {fmt(tl.p_a_ahead, 3) if tl else 'n/a'} "
                         f"| {c.verdict.call}{' ' + c.verdict.better if c.verdict.better else ''} "
                         f"| {c.plan.seeds if c.plan and c.plan.seeds else 'n/a'} |")
        lines += [f"- {c.a} vs {c.b}: {c.plan.text}." for c in primary if c.plan]
        lines += [f"- {c.a} vs {c.b}: {c.without_degenerate}." for c in primary if c.without_degenerate]
    return lines + [""]


def _descriptives(report: ComparisonReport, metric: str) -> list[str]:
    """Test scores and, beside them, the validation scores of the same runs."""
    validation = report.validation.get(metric, {})
    lines = [f"## {metric}", "", "| system | n | test mean | sd | median | 95% CI | validation mean | validation sd |",
             "|---|---|---|---|---|---|---|---|"]
    for s, d in report.descriptives[metric].items():
        v = validation.get(s)
        lines.append(f"| {s} | {d.n} | {fmt(d.mean)} | {fmt(d.sd)} | {fmt(d.median)} | "
                     f"[{fmt(d.ci_low)}, {fmt(d.ci_high)}] | {fmt(v.mean) if v else 'n/a'} | "
                     f"{fmt(v.sd) if v else 'n/a'} |")
    return lines


def _pair_rows(comps: list[PairResult]) -> list[str]:
    lines = ["", "| pair | design | n | primary test | p | p (Holm) | min. detectable difference (power 0.8) "
             "| effects of (leader over other) | Cohen's d | Cliff's delta | ASO eps_min "
             "| seeds for power 0.8 (95% range) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in comps:
        r, e, pw = c.verdict, oriented(c), c.power
        span = pw.seeds_needed_interval
        n = c.n_a if c.paired else f"{c.n_a} vs {c.n_b}"
        lines.append(
            f"| {c.a} vs {c.b} | {c.design} | {n} | {r.name} | {fmt(r.p_value)} | "
            f"{fmt(r.p_holm)} | {fmt(pw.min_detectable_difference, 3)} | {e.direction} | {fmt(e.cohens_d, 3)} | "
            f"{fmt(e.cliffs_delta, 3)} | {fmt(e.aso_eps_min, 3)} | {fmt(pw.seeds_needed)}"
            + (f" ({fmt(span[0])} to {fmt(span[1])})" if span else "") + " |"
        )
    lines += ["", "Verdicts (primary test):", ""]
    lines += [f"- {c.verdict.text}. Why this test: {c.verdict.reason}." for c in comps]
    notes = [c.class_note for c in comps if c.class_note]  # reports saved before it have none
    lines += ["", "Class sets:", ""] + [f"- Note: {n}." for n in notes] if notes else []
    return lines


def _all_tests(c: PairResult) -> list[str]:
    pair = f"{c.a} vs {c.b}"
    lines = []
    norm = c.normality.result
    if norm is not None:
        lines.append(f"| {pair} | Shapiro-Wilk ({c.normality.of}) | {fmt(norm.statistic)} | {fmt(norm.p_value)} "
                     f"| {norm.note} |")
    for key, t in c.tests.items():
        role = "primary" if key == c.verdict.test else "secondary"
        lines.append(f"| {pair} | {t.name} ({role}) | {fmt(t.statistic)} | {fmt(t.p_value)} | {t.note} |")
    if c.fold_view:
        fv = c.fold_view
        lines.append(f"| {pair} | per-fold paired t ({fv.n_folds} folds) | {fmt(fv.paired_t.statistic)} "
                     f"| {fmt(fv.paired_t.p_value)} | mean difference {fmt(fv.mean_difference)} |")
    ev = c.example_view
    if ev and ev.mcnemar and ev.bootstrap_macro_f1:
        mc, bs = ev.mcnemar, ev.bootstrap_macro_f1
        lines.append(f"| {pair} | {mc.name} (best runs, {ev.n_examples} examples) "
                     f"| {fmt(mc.statistic)} | {fmt(mc.p_value)} | {mc.note} |")
        lines.append(f"| {pair} | paired bootstrap of macro-F1 difference | {fmt(bs.difference)} "
                     f"| {fmt(bs.p_value)} | 95% CI [{fmt(bs.ci_low)}, {fmt(bs.ci_high)}], "
                     f"{bs.n_resamples} resamples |")
    return lines


def _stability(report: ComparisonReport) -> list[str]:
    """How often the label of a test comment flips across seeds and systems (nothing where it was not computed)."""
    st = report.stability
    if st is None or not st.computed:
        return []
    lines = ["## Prediction stability", "", f"Over {st.n_comments} test comments (per comment: stability.json; the "
             "least stable: flips.md):", "", "| system | runs | label flips across seeds | mean agreement |",
             "|---|---|---|---|"]
    lines += [f"| {s} | {x.runs} | {fmt(x.flip_share, 3)} | {fmt(x.mean_agreement, 3)} |"
              for s, x in st.systems.items()]
    return lines + ["", f"Majority labels differ across systems on {fmt(st.flip_share_across_systems, 3)} of the "
                        f"comments; not every run agrees on {fmt(st.flip_share_all_runs, 3)}.", ""]


def render_markdown(report: ComparisonReport) -> str:
    """The report as Markdown tables (report.md, and the terminal)."""
    lines = _header(report)
    for metric in report.descriptives:
        comps = [c for c in report.comparisons if c.metric == metric]
        lines += _descriptives(report, metric) + _pair_rows(comps)
        lines += ["", "All tests (secondary analyses are reported, never used to pick the test):", "",
                  "| pair | test | statistic | p | note |", "|---|---|---|---|---|"]
        for c in comps:
            lines += _all_tests(c)
        if metric in report.friedman:
            f = report.friedman[metric]
            ranks = ", ".join(f"{s} {r:.2f}" for s, r in sorted(f.average_ranks.items(), key=lambda x: x[1]))
            lines += ["", f"Friedman test over {f.n} seeds: chi2 = {fmt(f.statistic)}, "
                          f"p = {fmt(f.p_value)} ({f.method}); "
                          f"average ranks {ranks}; Nemenyi critical difference {f.critical_difference:.3f}."]
        lines.append("")
    if report.warnings:
        lines += ["## Warnings", ""] + [f"- {w}" for w in dict.fromkeys(report.warnings)] + [""]
    lines += _stability(report)
    lines += ["## Runs", ""] + [f"- {s}: {', '.join(ids)}" for s, ids in report.runs.items()]
    if report.skipped:
        lines += ["", "Skipped:", ""] + [f"- {s.run_id} ({s.system}): {s.reason}" for s in report.skipped]
    return "\n".join(lines) + "\n"

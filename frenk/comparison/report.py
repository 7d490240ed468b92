"""The compare report as Markdown (report.md, and the terminal)."""

from __future__ import annotations

from .design import fmt


def render_markdown(report: dict) -> str:
    """The report as Markdown tables (report.md, and the terminal)."""
    lines = ["# Model comparison", "", f"**{report['summary']}.**", "",
             f"alpha = {report['alpha']}; systems: {', '.join(report['systems'])}"
             + (f"; baseline: {report['baseline']}" if report["baseline"] else ""), ""]
    for metric, by_system in report["descriptives"].items():
        lines += [f"## {metric}", "", "| system | n | mean | sd | median | 95% CI |", "|---|---|---|---|---|---|"]
        for s, d in by_system.items():
            lines.append(f"| {s} | {d['n']} | {fmt(d['mean'])} | {fmt(d['sd'])} | {fmt(d['median'])} | "
                         f"[{fmt(d['ci_low'])}, {fmt(d['ci_high'])}] |")
        lines += ["", "| pair | design | n | recommended test | p | p (Holm) | Cohen's d | Cliff's delta | ASO eps_min | seeds for power 0.8 |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        comps = [c for c in report["comparisons"] if c["metric"] == metric]
        for c in comps:
            r, e = c["recommended"], c["effect"]
            lines.append(
                f"| {c['a']} vs {c['b']} | {c['design']} | {c['n_a']} | {r['name']} | {fmt(r['p_value'])} | "
                f"{fmt(r.get('p_holm'))} | {fmt(e['cohens_d'], 3)} | {fmt(e['cliffs_delta'], 3)} | "
                f"{fmt(e['aso_eps_min'], 3)} | {fmt(c['power']['seeds_needed'])} |"
            )
        lines += ["", "Verdicts:", ""]
        lines += [f"- {c['recommended']['verdict']}. Why this test: {c['recommended']['reason']}." for c in comps]
        lines += ["", "All tests:", "", "| pair | test | statistic | p | note |", "|---|---|---|---|---|"]
        for c in comps:
            norm = c["normality"]
            if "p_value" in norm:
                lines.append(f"| {c['a']} vs {c['b']} | Shapiro-Wilk ({norm['of']}) | {fmt(norm['statistic'])} | {fmt(norm['p_value'])} | {norm.get('note', '')} |")
            for t in c["tests"].values():
                lines.append(f"| {c['a']} vs {c['b']} | {t['name']} | {fmt(t['statistic'])} | {fmt(t['p_value'])} | {t['note']} |")
            if c.get("fold_view"):
                fv = c["fold_view"]
                lines.append(f"| {c['a']} vs {c['b']} | per-fold paired t ({fv['n_folds']} folds) | {fmt(fv['paired_t']['statistic'])} | {fmt(fv['paired_t']['p_value'])} | mean difference {fmt(fv['mean_difference'])} |")
            ev = c.get("example_view")
            if ev and "mcnemar" in ev:
                bs = ev["bootstrap_macro_f1"]
                lines.append(f"| {c['a']} vs {c['b']} | {ev['mcnemar']['name']} (best runs, {ev['n_examples']} examples) | {fmt(ev['mcnemar']['statistic'])} | {fmt(ev['mcnemar']['p_value'])} | {ev['mcnemar']['note']} |")
                lines.append(f"| {c['a']} vs {c['b']} | paired bootstrap of macro-F1 difference | {fmt(bs['difference'])} | {fmt(bs['p_value'])} | 95% CI [{fmt(bs['ci_low'])}, {fmt(bs['ci_high'])}], {bs['n_resamples']} resamples |")
        if metric in report["friedman"]:
            f = report["friedman"][metric]
            ranks = ", ".join(f"{s} {r:.2f}" for s, r in sorted(f["average_ranks"].items(), key=lambda x: x[1]))
            lines += ["", f"Friedman test over {f['n']} seeds: chi2 = {fmt(f['statistic'])}, p = {fmt(f['p_value'])}; "
                          f"average ranks {ranks}; Nemenyi critical difference {f['critical_difference']:.3f}."]
        lines.append("")
    if report["warnings"]:
        lines += ["## Warnings", ""] + [f"- {w}" for w in dict.fromkeys(report["warnings"])] + [""]
    lines += ["## Runs", ""] + [f"- {s}: {', '.join(ids)}" for s, ids in report["runs"].items()]
    if report["skipped"]:
        lines += ["", "Skipped:", ""] + [f"- {s['run_id']} ({s['system']}): {s['reason']}" for s in report["skipped"]]
    return "\n".join(lines) + "\n"

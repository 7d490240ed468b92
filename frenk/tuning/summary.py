"""What a search found, in words: the tune parent run's description (the MLflow UI shows it
on the run page) and its printed summary share these sentences."""

from __future__ import annotations

from .search import SearchResult


def search_summary(result: SearchResult, train_command: str) -> str:
    """Markdown: the best configuration and its value, the trials and trainings spent of the
    budget, the configurations tied with the best, and the command that trains the best."""
    trials, most = result.budget
    seeds = len(result.seeds)
    raced = ", raced" if result.raced else ""
    lines = [f"Study `{result.study}` ({result.sampler} sampler, {result.pruning}): {len(result.table)} trial(s) "
             f"of {trials}, {result.trainings} training(s) of at most {most} ({seeds} seed(s) per configuration"
             f"{raced})."]
    if result.best_trial is None:
        lines.append("No trial has finished yet.")
        return "\n\n".join(lines)
    params = ", ".join(f"{k}={v}" for k, v in sorted(result.best_params.items()))
    over = f" (mean over {seeds} seeds)" if seeds > 1 else ""
    lines.append(f"**Best**: trial {result.best_trial}, {params}: {result.metric} {result.best_value:.4f}{over}.")
    others = [t for t in result.tied if t != result.best_trial]
    if others:
        lines.append(f"Not clearly worse than the best (its seeds cannot tell them apart): trial(s) "
                     f"{', '.join(map(str, others))}.")
    lines.append(f"Train it over seeds:\n\n    {train_command}")
    return "\n\n".join(lines)

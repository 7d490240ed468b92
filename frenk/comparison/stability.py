"""Prediction stability: per test comment, how often each system's seeds predict each label, and
how often the label flips across seeds (per system) and across systems.

Every seed run of every compared system logs its predictions on the same test comments
(``predictions.parquet``: ``id``, ``label``, ``pred``, ``pred_name``). Aligned by comment id, a
system's runs give each comment a count of votes per label: the comment *flips across seeds*
when they predict more than one label, and its *agreement* is the share of the runs that predict
its most frequent label (the system's majority label; on a tie the label with the smaller code).
A comment *flips across systems* when the systems' majority labels differ, and *flips across all
runs* when any two runs of any systems predict different labels. Pure: no MLflow, no files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

NAN = float("nan")
#: the most unstable comments flips.md lists
TOP_FLIPS = 20
#: characters of a comment's text in flips.md
TEXT_WIDTH = 140


@dataclass(frozen=True)
class SystemStability:
    """One system over the test comments: its runs, the share of comments whose label flips across
    its seeds (nan with one run), and the mean share of its seeds that predict the majority label."""

    runs: int
    flip_share: float
    mean_agreement: float

    def to_dict(self) -> dict:
        return {"runs": self.runs, "flip_share": self.flip_share, "mean_agreement": self.mean_agreement}

    @classmethod
    def from_dict(cls, d: dict | None) -> SystemStability:
        d = d or {}
        return cls(d.get("runs", 0), d.get("flip_share", NAN), d.get("mean_agreement", NAN))


@dataclass(frozen=True)
class Stability:
    """The stability of the compared systems' predictions (the summary the report holds; the
    per-comment table is :func:`comment_table`). ``note`` says why it was not computed (then
    ``n_comments`` is 0) or which runs were left out."""

    n_comments: int = 0
    systems: dict[str, SystemStability] = field(default_factory=dict)
    #: the share of comments on which the systems' majority labels differ (nan: fewer than two systems)
    flip_share_across_systems: float = NAN
    #: the share of comments on which not every run of every system predicts the same label
    flip_share_all_runs: float = NAN
    note: str = ""

    @property
    def computed(self) -> bool:
        return self.n_comments > 0

    def to_dict(self) -> dict:
        return {"n_comments": self.n_comments, "systems": {s: v.to_dict() for s, v in self.systems.items()},
                "flip_share_across_systems": self.flip_share_across_systems,
                "flip_share_all_runs": self.flip_share_all_runs, "note": self.note}

    @classmethod
    def from_dict(cls, d: dict | None) -> Stability | None:
        if d is None:
            return None
        return cls(d.get("n_comments", 0), {s: SystemStability.from_dict(v) for s, v in d.get("systems", {}).items()},
                   d.get("flip_share_across_systems", NAN), d.get("flip_share_all_runs", NAN), d.get("note", ""))


@dataclass(frozen=True)
class Votes:
    """The aligned votes: the comment ids (sorted), their gold codes, and per system its runs'
    predictions (runs x comments); ``names``: class code -> name where the predictions named it."""

    ids: list
    gold: np.ndarray
    preds: dict[str, np.ndarray]
    names: dict[int, str]
    note: str = ""

    @property
    def k(self) -> int:
        return int(max([self.gold.max(), *(p.max() for p in self.preds.values())])) + 1

    def counts(self, system: str) -> np.ndarray:
        """Votes per comment and label (comments x k) of ``system``'s runs."""
        p = self.preds[system]
        return np.stack([(p == c).sum(axis=0) for c in range(self.k)], axis=1)


def votes(by_system: dict[str, list[pd.DataFrame]]) -> Votes | str:
    """The runs' predictions aligned over the test comments every run predicted (by id), or a
    note saying why they cannot be (no predictions, no common comments, disagreeing gold labels).
    Systems without any predictions are left out (named in the note)."""
    present = {s: frames for s, frames in by_system.items() if frames}
    if not present:
        return "no compared run logged its test predictions (predictions.parquet): stability not computed"
    frames = [f for fs in present.values() for f in fs]
    ids = set(frames[0]["id"])
    for f in frames[1:]:
        ids &= set(f["id"])
    if not ids:
        return "the runs' predictions share no test comment (different test sets): stability not computed"
    order = sorted(ids, key=str)
    indexed = {s: [f.drop_duplicates("id").set_index("id").loc[order] for f in fs] for s, fs in present.items()}
    gold = next(iter(indexed.values()))[0]["label"].to_numpy().astype(int)
    if any(not np.array_equal(f["label"].to_numpy(), gold) for fs in indexed.values() for f in fs):
        return "the runs disagree on the gold labels of their test comments: stability not computed"
    names: dict[int, str] = {}
    for fs in indexed.values():
        for f in fs:
            if "pred_name" in f.columns:
                names.update(zip(f["pred"].astype(int), f["pred_name"].astype(str), strict=True))
    missing = sorted(set(by_system) - set(present))
    note = f"without predictions, left out: {', '.join(missing)}" if missing else ""
    return Votes(order, gold, {s: np.array([f["pred"].to_numpy() for f in fs], dtype=int) for s, fs in indexed.items()},
                 names, note)


def _share(mask: np.ndarray) -> float:
    return float(mask.mean()) if mask.size else NAN


def majority(counts: np.ndarray) -> np.ndarray:
    """Each comment's majority label (the smaller code on a tie)."""
    return counts.argmax(axis=1)


def summarise(v: Votes) -> Stability:
    """The flip shares and mean agreements of aligned votes."""
    systems, majorities = {}, []
    for s, p in v.preds.items():
        c = v.counts(s)
        runs = p.shape[0]
        flips = c.max(axis=1) < runs
        systems[s] = SystemStability(runs, _share(flips) if runs > 1 else NAN, float((c.max(axis=1) / runs).mean()))
        majorities.append(majority(c))
    across = (_share(np.any(np.array(majorities) != majorities[0], axis=0)) if len(majorities) > 1 else NAN)
    pooled = np.concatenate(list(v.preds.values()))
    return Stability(len(v.ids), systems, across, _share(np.any(pooled != pooled[0], axis=0)), v.note)


def stability(by_system: dict[str, list[pd.DataFrame]]) -> Stability:
    """The stability summary of every system's runs' predictions (a note where it cannot be computed)."""
    v = votes(by_system)
    return Stability(note=v) if isinstance(v, str) else summarise(v)


def comment_table(by_system: dict[str, list[pd.DataFrame]], texts: dict | None = None,
                  label_names: dict[int, str] | None = None) -> pd.DataFrame | None:
    """One row per test comment (``stability.json``): ``id``, ``text`` (from ``texts`` by id; empty
    where not known), ``label`` and ``label_name`` (gold), then per system ``<system>.votes.<label>``
    (how many of its runs predict that label), ``<system>.majority``, ``<system>.agreement`` and
    ``<system>.correct`` (the share of its runs predicting the gold label), and
    ``flips_across_systems``; sorted from the least stable (lowest mean agreement) to the most.
    None where the votes cannot be aligned (see :func:`votes`)."""
    v = votes(by_system)
    if isinstance(v, str):
        return None
    names = {**v.names, **(label_names or {})}
    name = [names.get(c, str(c)) for c in range(v.k)]
    texts = texts or {}
    table = pd.DataFrame({"id": [str(i) for i in v.ids], "text": [texts.get(i, "") for i in v.ids],
                          "label": v.gold, "label_name": [name[c] for c in v.gold]})
    agreements, majorities = [], []
    for s, p in v.preds.items():
        c, runs = v.counts(s), p.shape[0]
        for code in range(v.k):
            table[f"{s}.votes.{name[code]}"] = c[:, code]
        majorities.append(majority(c))
        agreements.append(c.max(axis=1) / runs)
        table[f"{s}.majority"] = [name[m] for m in majorities[-1]]
        table[f"{s}.agreement"] = agreements[-1]
        table[f"{s}.correct"] = c[np.arange(len(v.ids)), v.gold] / runs
    table["flips_across_systems"] = np.any(np.array(majorities) != majorities[0], axis=0)
    table["mean_agreement"] = np.mean(agreements, axis=0)
    order = np.lexsort((table["id"].to_numpy(), ~table["flips_across_systems"].to_numpy(),
                        table["mean_agreement"].to_numpy()))
    return table.iloc[order].reset_index(drop=True)


def _cell(text: str) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= TEXT_WIDTH else text[:TEXT_WIDTH - 1] + "…"


def _pct(x: float) -> str:
    return "n/a" if isinstance(x, float) and math.isnan(x) else f"{100 * x:.1f}%"


def flips_markdown(summary: Stability, table: pd.DataFrame | None, top: int = TOP_FLIPS, source: str = "") -> str:
    """``flips.md``: the flip shares, then the ``top`` least stable comments that flip (their
    votes per system), from :func:`comment_table`'s order; ``source``: where the texts came from."""
    lines = ["# Prediction stability", ""]
    if table is None or not summary.computed:
        return "\n".join(lines + [summary.note + ".", ""])
    lines += [f"Over {summary.n_comments} test comments: the label flips across seeds on "
              + "; ".join(f"{_pct(x.flip_share)} of comments for {s} ({x.runs} runs)"
                          for s, x in summary.systems.items())
              + f"; the systems' majority labels differ on {_pct(summary.flip_share_across_systems)}, and not every "
              f"run agrees on {_pct(summary.flip_share_all_runs)}.", ""]
    lines += [f"Note: {n}." for n in (summary.note, source) if n] + ([""] if summary.note or source else [])
    systems = list(summary.systems)
    unstable = table[(table["mean_agreement"] < 1) | table["flips_across_systems"]].head(top)
    if unstable.empty:
        return "\n".join(lines + ["No comment flips: every run predicts the same label on every comment.", ""])
    votes_of = {s: [c for c in table.columns if c.startswith(f"{s}.votes.")] for s in systems}
    lines += [f"The {len(unstable)} least stable comments (votes of each system's runs; full table: stability.json):",
              "", "| id | text | gold | " + " | ".join(systems) + " |", "|---" * (3 + len(systems)) + "|"]
    for _, row in unstable.iterrows():
        cells = [", ".join(f"{c.rsplit('.votes.', 1)[1]} {row[c]}" for c in votes_of[s] if row[c]) for s in systems]
        lines.append(f"| {row['id']} | {_cell(row['text'])} | {row['label_name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines + [""])

"""Data to score a registered model on (the evaluate step): a split of a prepared folder (another
language, another topic, another label scheme) or a user's own file, its gold labels mapped onto
the model's label scheme; a file without labels gives predictions only.

The one mapping between schemes is FRENK's own (see :mod:`.labels`): six-class gold labels become
binary ones, ``Acceptable speech`` -> ``Acceptable`` and every other class -> ``Offensive``. A binary
label cannot become one of the six classes, so a binary folder is refused for a six-class model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..core.choices import EVAL_SPLITS
from ..core.errors import ConfigError, DataError
from .cleaning import example_id, normalise_text
from .labels import LabelMappingError, map_label, scheme
from .prepared import SPLITS, canonical_digest, load_prepared
from .sources import parse_file

#: ``frenk.label_mapping`` of data already in the model's scheme, and of a file's labels taken by name
SAME_SCHEME, BY_NAME, NO_LABELS = "none", "by name", "no labels"


@dataclass
class EvalData:
    """The comments to score: ``frame`` has ``id``, ``text``, ``topic`` and, when labelled, ``label``
    (in the model's scheme; ``fold`` on a test split)."""

    frame: pd.DataFrame
    description: str  #: the folder and split, or the file
    split: str  #: the prepared folder's split, or ``file``
    digest: str  #: the prepared folder's data digest (as train runs' frenk.data_digest), or the file's content digest
    lang: str | None  #: the prepared folder's language (None for a file)
    mapping: str  #: how the gold labels became the model's: none, multiclass->binary, by name, no labels
    folder: Path | None = None
    split_digest: str = ""  #: the content digest of the rows scored (the split's; "all": the folder's)

    def __post_init__(self) -> None:
        self.split_digest = self.split_digest or self.digest

    @property
    def labelled(self) -> bool:
        return "label" in self.frame.columns

    @property
    def topics(self) -> list[str]:
        return sorted(str(t) for t in self.frame["topic"].dropna().unique() if str(t))


def load_eval_data(path: str, split: str, model_scheme: str) -> EvalData:
    """The comments of ``path`` (a prepared folder's ``split``, or a file) with labels in ``model_scheme``."""
    if split not in EVAL_SPLITS:
        raise ConfigError(f"split={split!r}: use one of {', '.join(EVAL_SPLITS)}")
    root = check_source(path)
    if root.is_dir():  # a folder without manifest.json: the prepared folder's own refusal
        return _prepared_split(root, split, model_scheme)
    return _user_file(root, model_scheme)


def check_source(path: str) -> Path:
    """``path`` as a folder or a file that exists (checked before anything else is looked up)."""
    root = Path(path)
    if not root.exists():
        raise DataError(f"data={path}: no such folder or file; give a folder written by preprocess "
                        "(mlflow run . -e preprocess -P output=<folder>) or a .csv, .tsv, .jsonl or .parquet file "
                        "with a 'text' column (and 'label' for metrics)")
    return root


def mapping_between(data_scheme: str, model_scheme: str) -> str:
    """How gold labels of ``data_scheme`` become ``model_scheme``'s, or a ConfigError when they cannot."""
    if data_scheme == model_scheme:
        return SAME_SCHEME
    if (data_scheme, model_scheme) == ("multiclass", "binary"):
        return "multiclass->binary"
    raise ConfigError(f"the data has {data_scheme} labels but the model predicts the {model_scheme} scheme "
                      f"({', '.join(scheme(model_scheme).classes)}): a {data_scheme} label has no mapping onto it; "
                      f"evaluate a {data_scheme} model, or preprocess the data with -P labels={model_scheme}")


def _prepared_split(root: Path, split: str, model_scheme: str) -> EvalData:
    data = load_prepared(root)
    params = data.manifest["parameters"]
    mapping = mapping_between(params["labels"], model_scheme)
    names = SPLITS if split == "all" else (split,)
    frame = pd.concat([data.splits[name] for name in names], ignore_index=True)
    if split != "test":
        frame = frame.drop(columns=["fold"], errors="ignore")
    frame = frame.copy()
    if mapping != SAME_SCHEME:
        frame["label"] = (frame["label"].astype(int) != 0).astype(int)  # FRENK's binary relabelling
    rows = data.data_digest if split == "all" else data.manifest["digests"][split]
    return EvalData(frame, f"{root} ({split} split, {params['lang']}/{params['labels']})", split, data.data_digest,
                    params["lang"], mapping, data.folder, rows)


def _read(path: Path) -> pd.DataFrame:
    try:
        frame = parse_file(path)  # preprocess's reader, without its label requirement
    except DataError as exc:
        raise DataError(f"data={exc}") from None
    if "text" not in frame.columns:
        raise DataError(f"data={path}: no 'text' column (found {', '.join(frame.columns) or 'none'}); a file to "
                        "evaluate needs the comments in 'text' (and, for metrics, their gold labels in 'label')")
    return frame


def _user_file(path: Path, model_scheme: str) -> EvalData:
    """A user's file: every row needs a text; labels (FRENK class names, binary names or the model
    scheme's ids) on every row or on none."""
    raw = _read(path)
    labels = raw["label"] if "label" in raw.columns else pd.Series([None] * len(raw), dtype=object)
    has = labels.notna() & (labels.astype(str).str.strip() != "")
    if has.any() and not has.all():
        missing = int((~has).to_numpy().argmax()) + 1
        raise DataError(f"data={path}, row {missing}: no label, while other rows have one; label every row (metrics) "
                        "or none (predictions only)")
    rows: list[dict[str, object]] = []
    for i, rec in enumerate(raw.to_dict("records"), start=1):
        text = normalise_text(rec.get("text"))
        if text is None:
            raise DataError(f"data={path}, row {i}: text is empty or missing; remove the row or fill it in")
        topic = str(rec["topic"]).strip() if rec.get("topic") is not None and not pd.isna(rec["topic"]) else ""
        topic = topic or "unknown"
        given = rec.get("id")
        known = given is not None and not pd.isna(given)
        row: dict[str, object] = {"id": str(given) if known else example_id(text, topic), "text": text, "topic": topic}
        if has.any():
            try:
                row["label"] = map_label(rec.get("label"), model_scheme)
            except LabelMappingError as exc:
                raise DataError(f"data={path}, row {i}: {exc}") from None
        rows.append(row)
    if not rows:
        raise DataError(f"data={path}: no rows to evaluate")
    frame = pd.DataFrame(rows)
    return EvalData(frame, str(path), "file", canonical_digest(frame), None, BY_NAME if has.any() else NO_LABELS)

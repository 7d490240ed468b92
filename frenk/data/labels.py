"""Label schemes of the FRENK datasets and the mapping of raw labels onto them.

FRENK annotates six classes of (un)acceptable speech. The binary scheme used by the
published FRENK classifiers maps ``Acceptable speech`` to 0 and every other class to 1.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from ..core.choices import SCHEMES

#: The six FRENK classes, in FRENK's own order (also the order of the Hugging Face
#: ``classla/FRENK-hate-*`` ``multiclass`` configuration).
FRENK_CLASSES: tuple[str, ...] = (
    "Acceptable speech",
    "Inappropriate",
    "Background offensive",
    "Other offensive",
    "Background violence",
    "Other violence",
)

BINARY_CLASSES: tuple[str, ...] = ("Acceptable", "Offensive")

_MULTICLASS_BY_NAME = {name.casefold(): i for i, name in enumerate(FRENK_CLASSES)}
# names used for the binary relabelling of FRENK (classla/FRENK-hate-* "binary")
_BINARY_BY_NAME = {"acceptable": 0, "offensive": 1}


@dataclass(frozen=True)
class LabelScheme:
    """A label scheme: its name and the class names indexed by label id."""

    name: str
    classes: tuple[str, ...]

    @property
    def num_labels(self) -> int:
        return len(self.classes)

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.classes))

    @property
    def label2id(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.classes)}


def scheme(name: str) -> LabelScheme:
    """Return the label scheme called ``name`` (``binary`` or ``multiclass``)."""
    if name == "binary":
        return LabelScheme("binary", BINARY_CLASSES)
    if name == "multiclass":
        return LabelScheme("multiclass", FRENK_CLASSES)
    raise ValueError(f"unknown label scheme {name!r}; use one of {', '.join(SCHEMES)}")


class LabelMappingError(ValueError):
    """A raw label that the scheme cannot take."""


def map_label(value: object, scheme_name: str) -> int:
    """Map one raw label onto ``scheme_name`` and return its integer id.

    Accepted: the FRENK class names (any case, surrounding spaces ignored), the binary
    names ``Acceptable``/``Offensive`` for the binary scheme, and integer labels (also
    integral floats and digit strings) that are already ids of the scheme.
    Raises :class:`LabelMappingError` for missing (NaN/None) or unknown labels.
    """
    target = scheme(scheme_name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise LabelMappingError("label is missing (NaN/empty)")
    if isinstance(value, bool):
        raise LabelMappingError(f"label {value!r} is a boolean, not a class")
    if isinstance(value, numbers.Real):  # numbers.Integral included
        as_int = _whole_number(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise LabelMappingError("label is empty")
        if not text.lstrip("-").isdigit():
            return _named_label(value, target)
        as_int = int(text)
    else:
        raise LabelMappingError(f"label {value!r} of type {type(value).__name__} is not understood")
    if not 0 <= as_int < target.num_labels:
        raise LabelMappingError(
            f"integer label {as_int} is outside the {target.name} scheme (0..{target.num_labels - 1})"
        )
    return as_int


def _whole_number(value: numbers.Real) -> int:
    """An integral label (also an integral float) as an int."""
    if isinstance(value, numbers.Integral):
        return int(value)
    if not float(value).is_integer():
        raise LabelMappingError(f"label {value!r} is not a whole number")
    return int(float(value))


def _named_label(value: str, target: LabelScheme) -> int:
    """The id in ``target`` of a class name (any case, surrounding spaces ignored)."""
    key = value.strip().casefold()
    if key in _MULTICLASS_BY_NAME:
        idx = _MULTICLASS_BY_NAME[key]
        return idx if target.name == "multiclass" else int(idx != 0)
    if key in _BINARY_BY_NAME:
        if target.name == "binary":
            return _BINARY_BY_NAME[key]
        raise LabelMappingError(
            f"label {value!r} is a binary label; the multiclass scheme needs one of "
            f"{', '.join(FRENK_CLASSES)} (or use labels=binary)"
        )
    raise LabelMappingError(
        f"unknown label {value!r}; expected one of {', '.join(FRENK_CLASSES + BINARY_CLASSES)} "
        f"or an integer id 0..{target.num_labels - 1}"
    )

import numpy as np
import pytest

from frenk.data.labels import BINARY_CLASSES, FRENK_CLASSES, LabelMappingError, map_label, scheme


@pytest.mark.parametrize(
    "raw, binary, multi",
    [
        ("Acceptable speech", 0, 0),
        ("  acceptable SPEECH ", 0, 0),
        ("Inappropriate", 1, 1),
        ("Background offensive", 1, 2),
        ("Other offensive", 1, 3),
        ("Background violence", 1, 4),
        ("other violence", 1, 5),
    ],
)
def test_frenk_names_map_to_both_schemes(raw, binary, multi):
    assert map_label(raw, "binary") == binary
    assert map_label(raw, "multiclass") == multi


def test_binary_names_and_integers():
    assert map_label("Acceptable", "binary") == 0
    assert map_label("Offensive", "binary") == 1
    assert map_label(1, "binary") == 1
    assert map_label(np.int64(0), "binary") == 0
    assert map_label(1.0, "binary") == 1
    assert map_label("5", "multiclass") == 5


@pytest.mark.parametrize(
    "raw, scheme_name, fragment",
    [
        (float("nan"), "binary", "missing"),
        (None, "multiclass", "missing"),
        ("", "binary", "empty"),
        ("hateful", "binary", "unknown label"),
        (2, "binary", "outside the binary scheme"),
        (6, "multiclass", "outside the multiclass scheme"),
        (0.5, "binary", "not a whole number"),
        ("Offensive", "multiclass", "binary label"),
        (True, "binary", "boolean"),
    ],
)
def test_bad_labels_are_refused(raw, scheme_name, fragment):
    with pytest.raises(LabelMappingError, match=fragment):
        map_label(raw, scheme_name)


def test_schemes():
    assert scheme("binary").classes == BINARY_CLASSES
    assert scheme("multiclass").classes == FRENK_CLASSES
    assert scheme("multiclass").label2id["Other violence"] == 5
    assert scheme("binary").num_labels == 2 and scheme("multiclass").id2label[0] == "Acceptable speech"
    with pytest.raises(ValueError):
        scheme("ternary")

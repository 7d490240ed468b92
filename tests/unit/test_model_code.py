"""The code a registered model ships (frenk/tracking/model_code.py, MLflow "models from code"):
it imports nothing of frenk, takes its texts in every shape the scoring server hands over, and
agrees with frenk on what the model config says."""

from __future__ import annotations

import ast
import importlib.util

import numpy as np
import pandas as pd
import pytest

from frenk.tracking import registry
from frenk.training import HF_FOLDER, JOBLIB_PIPELINE, KINDS


def _model_code():
    """The file run as MLflow runs it: under a module name of its own, from its path."""
    spec = importlib.util.spec_from_file_location("code_model_test", registry.MODEL_CODE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_model_code_imports_nothing_of_frenk():
    tree = ast.parse(registry.MODEL_CODE.read_text())
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    imported += [("." * node.level) + (node.module or "") for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert imported and not [name for name in imported if name.startswith((".", "frenk"))], imported


def test_the_model_config_speaks_the_model_codes_language():
    code = _model_code()
    assert code.JOBLIB_PIPELINE == JOBLIB_PIPELINE != HF_FOLDER
    assert {kind.saved_as for kind in KINDS.values()} == {HF_FOLDER, JOBLIB_PIPELINE}


@pytest.mark.parametrize("given", [
    ["a", "b"], np.array(["a", "b"]), np.array([["a"], ["b"]]), pd.Series(["a", "b"]),
    pd.DataFrame({"text": ["a", "b"], "id": [1, 2]}), pd.DataFrame({0: ["a", "b"]}), {"text": ["a", "b"]},
    [{"text": "a"}, {"text": "b"}], [["a"], ["b"]],
], ids=["list", "array", "column-array", "series", "text-column", "one-column", "dict", "records", "rows"])
def test_texts_come_in_every_shape(given):
    assert _model_code().texts_of(given) == ["a", "b"]


def test_a_single_text_and_unclear_frames():
    code = _model_code()
    assert code.texts_of("a") == ["a"] and code.texts_of(b"a") == ["a"]
    with pytest.raises(ValueError, match="'text' column"):
        code.texts_of(pd.DataFrame({"x": ["a"], "y": ["b"]}))
    with pytest.raises(ValueError, match="the key 'text'"):
        code.texts_of({"comment": ["a"]})

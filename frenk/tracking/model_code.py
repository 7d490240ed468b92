"""The code of a registered frenk model, logged as MLflow "models from code".

MLflow copies this file into the logged model and runs it (under a module name of its own) when
the model is loaded, so a registered model never imports the ``frenk`` package: it loads and
predicts wherever mlflow, transformers and torch are installed (scikit-learn for the TF-IDF
baseline), whatever ``frenk`` the working directory or an editable install offers. Keep it so: no
import of frenk here (``tests/unit/test_model_code.py`` checks), and what it needs from frenk
(the artifact's key, the name of the file beside the weights, how the folder was saved) comes in
its config artifact, written when frenk logs the model (``frenk.tracking.registry.log_model``).

``predict`` takes the texts in any form MLflow's scoring server hands over (a list of strings, a
DataFrame with a ``text`` column or a single column, a Series, a dict with ``text``, a string)
and returns a DataFrame with one row per text: ``label`` (the predicted class) and
``probabilities`` (class name -> probability). Transformers are reloaded strictly: a weight that
does not match the checkpoint is an error, never a random initialisation.
"""

import json
import os
from pathlib import Path

import mlflow.models
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

#: the artifact that holds the model's config (a JSON file: not MLflow's ``model_config``, which MLflow
#: also logs as parameters of the training run, where they would read as training parameters)
CONFIG_ARTIFACT = "frenk_model_config"
#: the column of a DataFrame that holds the texts (any single column is also taken)
TEXT_COLUMN = "text"
#: the model config's ``saved_as`` of a joblib scikit-learn pipeline (frenk.training.JOBLIB_PIPELINE);
#: anything else is a Hugging Face folder
JOBLIB_PIPELINE = "joblib"
#: set to 1 for the weights-loading bars (frenk.core.log.VERBOSE_ENV: the same switch as frenk's steps)
VERBOSE_ENV = "FRENK_VERBOSE"


def quiet_progress_bars() -> None:
    """No ``Loading weights`` or download bars at load and serve, unless :data:`VERBOSE_ENV` is set."""
    if os.environ.get(VERBOSE_ENV, "") not in ("", "0", "false", "False"):
        return
    from huggingface_hub.utils import disable_progress_bars
    from transformers.utils import logging as hf_logging

    disable_progress_bars()
    hf_logging.disable_progress_bar()


def texts_of(model_input) -> list[str]:
    """The texts of whatever the scoring server or a caller passed."""
    if isinstance(model_input, (str, bytes)):
        return [model_input.decode() if isinstance(model_input, bytes) else model_input]
    if isinstance(model_input, pd.DataFrame):
        if TEXT_COLUMN in model_input.columns:
            return [str(t) for t in model_input[TEXT_COLUMN]]
        if model_input.shape[1] == 1:
            return [str(t) for t in model_input.iloc[:, 0]]
        raise ValueError(f"a DataFrame of texts needs a {TEXT_COLUMN!r} column (or one column only); "
                         f"got columns {list(model_input.columns)}")
    if isinstance(model_input, dict):
        if TEXT_COLUMN not in model_input:
            raise ValueError(f"a dict of texts needs the key {TEXT_COLUMN!r}; got {sorted(model_input)}")
        return texts_of(model_input[TEXT_COLUMN])
    if isinstance(model_input, np.ndarray):
        return [str(t) for t in model_input.ravel()]
    return [t[TEXT_COLUMN] if isinstance(t, dict) else str(t[0]) if isinstance(t, (list, tuple)) else str(t)
            for t in model_input]


def _hf_predictor(folder: Path, max_length: int):
    """A Hugging Face folder, reloaded strictly; returns texts -> class probabilities."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    quiet_progress_bars()
    model, info = AutoModelForSequenceClassification.from_pretrained(str(folder), output_loading_info=True,
                                                                     trust_remote_code=False)
    problems = {k: v for k in ("missing_keys", "unexpected_keys", "mismatched_keys") if (v := info.get(k))}
    if problems:
        raise ValueError(f"{folder}: weights that do not match the checkpoint: {problems}")
    tokenizer = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = model.to(device).eval()

    def predict(texts: list[str], batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                batch = tokenizer(texts[start : start + batch_size], truncation=True, max_length=max_length,
                                  padding=True, return_tensors="pt").to(device)
                out[start : start + batch_size] = torch.softmax(model(**batch).logits.float(), -1).cpu().numpy()
        return out

    return predict


def _joblib_predictor(file: Path, num_labels: int):
    """A scikit-learn pipeline (the TF-IDF baseline); returns texts -> class probabilities."""
    import joblib

    pipeline = joblib.load(file)["pipeline"]

    def predict(texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), num_labels))
        out[:, pipeline.classes_] = pipeline.predict_proba(texts)
        return out

    return predict


class FrenkClassifier(PythonModel):
    """A frenk model folder (its artifact) as a pyfunc model: texts -> label and probabilities."""

    def load_context(self, context) -> None:
        if CONFIG_ARTIFACT in context.artifacts:
            config = json.loads(Path(context.artifacts[CONFIG_ARTIFACT]).read_text())
        else:
            config = context.model_config
        folder = Path(context.artifacts[config["artifact"]])
        meta = json.loads((folder / config["meta_file"]).read_text())
        self._labels = [meta["id2label"][str(i)] for i in range(len(meta["id2label"]))]
        if config["saved_as"] == JOBLIB_PIPELINE:
            self._proba = _joblib_predictor(folder / config["joblib_file"], len(self._labels))
        else:
            self._proba = _hf_predictor(folder, int(meta.get("max_length", 128)))

    def predict(self, context, model_input: pd.DataFrame, params=None):
        """``model_input``: MLflow hands a DataFrame (the signature's one string column); a hint of
        ``list[str]`` would make the scoring server take ``{"inputs": [...]}`` only."""
        texts = texts_of(model_input)
        probs = self._proba(texts) if texts else np.zeros((0, len(self._labels)))
        return pd.DataFrame({
            "label": [self._labels[int(i)] for i in probs.argmax(axis=1)],
            "probabilities": [{name: float(p) for name, p in zip(self._labels, row, strict=True)} for row in probs],
        })


mlflow.models.set_model(FrenkClassifier())

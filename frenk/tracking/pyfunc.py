"""The pyfunc wrapper of the versions registered before the model's code was logged with it.

Those versions pickled this class (and, before frenk 0.2, ``frenk.pyfunc_model``'s name for it)
and shipped frenk's package folder, so it stays importable for them. New versions ship
``model_code.py`` instead (MLflow "models from code", no frenk import; ``registry.log_model``).

``mlflow.pyfunc.load_model(uri).predict(["text", ...])`` returns the predicted label names.
The model folder is a Hugging Face folder (transformers) or ``model.joblib`` (TF-IDF), plus
``frenk.json`` with ``max_length`` and the labels. Transformers are reloaded strictly: a
weight that does not match the checkpoint is an error, never a random initialisation.
"""

from __future__ import annotations

import json
from pathlib import Path

from mlflow.pyfunc import PythonModel

from ..core.log import quiet_progress_bars
from ..core.names import META_FILE

ARTIFACT = "model"


class FrenkTextClassifier(PythonModel):
    def load_context(self, context) -> None:
        from ..training import kind_of_saved

        quiet_progress_bars()
        folder = Path(context.artifacts[ARTIFACT])
        meta = json.loads((folder / META_FILE).read_text())
        self._id2label = {int(k): v for k, v in meta["id2label"].items()}
        self._predict = kind_of_saved(folder, meta).load_predictor(folder, int(meta.get("max_length", 128)))

    def predict(self, context, model_input: list[str], params=None) -> list[str]:
        texts = [str(t) for t in model_input]
        if not texts:
            return []
        return [self._id2label[int(i)] for i in self._predict(texts)]

"""The preprocess step: prepare the data, write it (all or nothing), log it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from pathlib import Path

from ..config import PreprocessConfig
from ..core.log import result
from ..data import PreparedData, PreprocessOptions, check_output, missing_class_warnings, prepare, write_prepared
from ..tracking import results, runs

log = logging.getLogger(__name__)


@dataclass
class PreprocessResult:
    data: PreparedData
    output: Path
    run_id: str


def preprocess(cfg: PreprocessConfig) -> PreprocessResult:
    """Prepare the data, write it (all or nothing) and log the run."""
    check_output(cfg.output)  # a folder it may not replace, or cannot write: before any work
    runs.start_step()
    options = PreprocessOptions(**{f.name: getattr(cfg, f.name) for f in fields(PreprocessOptions)})
    data = prepare(options)  # validates everything before anything is written or logged
    for line in missing_class_warnings(data):  # a class without examples in a split: macro-F1 over fewer classes
        log.warning(line)
    tags = runs.frenk_tags(step="preprocess", lang=cfg.lang, labels=cfg.labels, data_digest=data.data_digest)
    with runs.step_run(f"preprocess-{cfg.lang}-{cfg.labels}", tags, lang=cfg.lang, labels=cfg.labels) as run:
        output = write_prepared(data, cfg.output, on_staging=runs.note_temp_dir)
        results.log_preprocess(data, output)
    result(f"prepared {data.manifest['rows']} rows into {output} "
          f"(data digest {data.data_digest[:12]}, run {run.info.run_id})")
    return PreprocessResult(data=data, output=output, run_id=run.info.run_id)

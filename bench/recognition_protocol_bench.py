"""Few-shot and open-set figures of any model on the held-out classes of a training run.

    .venv/bin/python -m bench.recognition_protocol_bench [--report out/train-v1/report.json]
        [--model models/grocery-embed-v0.json ...] [--root DIR] [--draws 10]

``smartcart model train`` measures its protocol model (trained without ``held_out`` classes) on
those classes; this bench applies the same protocol (:mod:`vision.training.protocol`) to shipped
models, so they can be compared on exactly the same classes and draws: the held-out classes are
enrolled from 1 or 5 random train photos, every other class from all its train photos, and the
held-out classes' val photos are scored among all classes (few-shot); with the held-out classes
not enrolled at all, the share of their val photos flagged unknown at the threshold that keeps
95 % of the other val photos accepted (open set). For a model trained on the held-out classes
(the shipped v1) the figures are optimistic: that is the point of the protocol model.
Needs no PyTorch.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from vision.recognition import Recogniser, RecogniserSettings
from vision.recognition.dataset import grocery_root
from vision.recognition.evaluate import embed_files
from vision.training.data import load_training_data
from vision.training.protocol import Embedded, few_shot, open_set

REPO = Path(__file__).resolve().parents[1]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", type=Path, default=REPO / "out" / "train-v1" / "report.json")
    parser.add_argument(
        "--model",
        type=Path,
        nargs="+",
        default=[
            REPO / "models" / "grocery-embed-v0.json",
            REPO / "models" / "grocery-embed-v1.json",
        ],
    )
    parser.add_argument("--root", type=Path, default=grocery_root())
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if not (args.root / "train.txt").is_file():
        print(f"Grocery Store Dataset not found at {args.root}; nothing measured")
        return 0
    if not args.report.is_file():
        print(f"{args.report}: no training report (run smartcart model train first)")
        return 1
    report = json.loads(args.report.read_text(encoding="utf-8"))
    names = report["metrics"]["protocol"]["held_out"]
    data = load_training_data(args.root.resolve())
    held = tuple(sorted(data.classes.labels.index(n) for n in names))
    print(f"held out: {', '.join(names)}")
    cache = Path("/tmp/smartcart-recognition-cache")
    for manifest in args.model:
        recogniser = Recogniser.load(
            manifest, RecogniserSettings(intra_op_threads=args.threads, batch_size=16)
        )
        train = embed_files(recogniser, [s.path for s in data.train.samples], cache_dir=cache)
        val = embed_files(recogniser, [s.path for s in data.val.samples], cache_dir=cache)
        embedded = Embedded(
            train.embeddings,
            data.train.columns,
            val.embeddings,
            data.val.columns,
            len(data.classes),
        )
        shots = {k: few_shot(embedded, held, shots=k, draws=args.draws, seed=0) for k in (1, 5)}
        opened = open_set(embedded, held)
        print(
            f"{recogniser.manifest.name}: few-shot top-1 on held-out classes "
            f"1 photo {shots[1].top1_held_out:.1%} ± {shots[1].top1_held_out_std:.1%}, "
            f"5 photos {shots[5].top1_held_out:.1%} ± {shots[5].top1_held_out_std:.1%}; "
            f"open set {opened.unknown_flagged:.1%} flagged at {opened.threshold:.3f} "
            f"({opened.known_accepted:.1%} known accepted)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

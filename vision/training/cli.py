"""Arguments of ``smartcart model train`` and the handler that runs :func:`.pipeline.run_training`.

:func:`add_arguments` imports nothing heavy: every ``smartcart`` command builds the parser, and
the cart itself never has torch installed (the ``train`` extra). The handler imports the
pipeline, and says how to install the extra when torch is missing.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SHARED = REPO / ".." / "shared" / "data"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``train`` options (defaults: the recipe of the shipped grocery-embed-v1)."""
    p.add_argument(
        "--root",
        type=Path,
        default=DEFAULT_SHARED / "grocery",
        help="Grocery Store Dataset folder (train.txt, val.txt, classes.csv)",
    )
    p.add_argument(
        "--source",
        type=Path,
        default=DEFAULT_SHARED / "pretrained" / "mobilenetv2-12-int8.onnx",
        help="the int8 ImageNet MobileNetV2 to convert",
    )
    p.add_argument("--out-dir", type=Path, default=REPO / "models", help="model + manifest here")
    p.add_argument("--name", default="grocery-embed-v1")
    p.add_argument(
        "--work-dir",
        type=Path,
        default=REPO / "out" / "train-v1",
        help="feature cache, logs, plots, report.json",
    )
    p.add_argument(
        "--figures-dir",
        type=Path,
        help="also copy the learning curves and confusion matrix PNGs here",
    )
    p.add_argument("--size", type=int, default=224, help="input side in pixels")
    p.add_argument("--views", type=int, default=16, help="cached views per training photo")
    p.add_argument("--epochs", type=int, default=16)
    p.add_argument(
        "--protocol-epochs",
        type=int,
        default=10,
        help="epochs of the held-out-classes model (few-shot / open-set figures)",
    )
    p.add_argument(
        "--held-out",
        type=int,
        default=10,
        help="classes held out for the protocol model (0: skip it)",
    )
    p.add_argument("--batch-size", type=int, default=48)
    p.add_argument(
        "--trainable-blocks",
        type=int,
        default=3,
        help="inverted-residual blocks fine-tuned (plus the final 1x1 conv)",
    )
    p.add_argument("--embedding-dim", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-classes", type=int, help="train on the first N classes only (tests)")
    p.add_argument("--per-class", type=int, help="at most N photos per class (tests)")
    p.add_argument(
        "--quantise",
        choices=["auto", "int8", "none"],
        default="auto",
        help="auto: int8 unless it costs more than --max-drop val top-1",
    )
    p.add_argument("--max-drop", type=float, default=0.015)
    p.add_argument(
        "--trunk",
        choices=["auto", "onnx-int8", "torch-float"],
        default="auto",
        help="what computes the cached frozen-trunk features",
    )
    p.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    """Run the training recipe; 1 with a message when data, source or torch are missing."""
    for path, what in ((args.root / "train.txt", "dataset split"), (args.source, "source model")):
        if not path.is_file():
            print(f"smartcart model train: {what} not found: {path}", file=sys.stderr)
            return 1
    try:
        from vision.training.pipeline import TrainOptions, run_training
    except ImportError as exc:
        print(
            f"smartcart model train: {exc}; install the training extra: pip install -e '.[train]'",
            file=sys.stderr,
        )
        return 1
    argv = sys.argv[1:] if sys.argv and "train" in sys.argv else []
    options = TrainOptions(
        # Resolved: the feature cache is keyed by the photos' paths, which must not depend on
        # how the folder was spelled.
        root=args.root.resolve(),
        source=args.source.resolve(),
        out_dir=args.out_dir,
        work_dir=args.work_dir,
        name=args.name,
        size=args.size,
        views=args.views,
        epochs=args.epochs,
        protocol_epochs=args.protocol_epochs,
        batch_size=args.batch_size,
        trainable_blocks=args.trainable_blocks,
        embedding_dim=args.embedding_dim,
        seed=args.seed,
        threads=args.threads,
        max_classes=args.max_classes,
        per_class=args.per_class,
        held_out=args.held_out,
        quantise=args.quantise,
        max_quantisation_drop=args.max_drop,
        trunk=args.trunk,
        figures_dir=args.figures_dir,
        command=" ".join(["smartcart", *map(shlex.quote, argv)]),
    )
    report = run_training(options)
    metrics = report.metrics
    print(f"wrote {report.model} and {report.manifest}")
    print(
        f"val top-1 {metrics['val_top1']:.1%}, top-5 {metrics['val_top5']:.1%}; "
        f"report {report.report}"
    )
    return 0

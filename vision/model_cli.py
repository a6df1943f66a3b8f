"""``smartcart model …``: the recognition model's tools (registered by the core's CLI).

- ``model info``: check the manifest and the model's checksum, print what the model expects.
- ``model enroll SKU IMAGES... --gallery PATH``: add a product's photos to a gallery.
- ``model remove SKU --gallery PATH``: forget a product.
- ``model eval --root DIR --split FILE``: accuracy on a labelled list in the Grocery Store
  Dataset's format (``path, fine_id, coarse_id``), with a gallery built from ``train.txt`` in the
  same root or from ``--gallery-split``; prints top-1, top-5, per-class accuracy and the time per
  image, and writes the confusion matrix as PNG and CSV.
- ``model train``: the reproducible training recipe of ``grocery-embed-v1`` (conversion of the
  int8 MobileNetV2 to PyTorch, fine-tuning, temperature scaling, ONNX export, manifest); needs
  the ``train`` extra (``vision/training``, ``docs/recognition.md``).

Also runs on its own: ``python -m vision.model_cli eval …``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_FAILURE = 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``model`` command group to the CLI.

    Nothing heavy is imported here (numpy, OpenCV, onnxruntime): every ``smartcart`` command
    builds this parser, so the handlers import what they need.
    """
    model = subparsers.add_parser("model", help="recognition model: enrol products, evaluate")
    sub = model.add_subparsers(dest="model_command", required=True)

    def model_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--model",
            type=Path,
            help="model manifest (default: the shipped models/grocery-embed-v1.json)",
        )
        p.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")

    p = sub.add_parser("info", help="verify the model and print its manifest")
    model_arg(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("enroll", help="add a product's photos to a gallery")
    p.add_argument("sku", help="the label to enrol the photos under (the product's SKU)")
    p.add_argument("images", nargs="+", type=Path, help="photos of the product, several views")
    p.add_argument("--gallery", type=Path, required=True, help="gallery file (.npz), created")
    p.add_argument("--no-augment", action="store_true", help="embed the photos only as they are")
    model_arg(p)
    p.set_defaults(func=cmd_enroll)

    p = sub.add_parser("remove", help="remove a product from a gallery")
    p.add_argument("sku")
    p.add_argument("--gallery", type=Path, required=True)
    model_arg(p)
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("eval", help="accuracy on a labelled image list")
    p.add_argument("--root", type=Path, required=True, help="dataset folder the paths start in")
    p.add_argument("--split", type=Path, required=True, help="images to evaluate")
    p.add_argument(
        "--gallery-split",
        type=Path,
        help="images to build the gallery from (default: train.txt in --root)",
    )
    p.add_argument("--method", choices=["prototype", "knn"], help="scoring (default: manifest's)")
    p.add_argument("--k", type=int, help="neighbours per class for --method knn")
    p.add_argument("--out", type=Path, default=Path("out/model-eval"), help="confusion files here")
    p.add_argument("--cache", type=Path, help="cache embeddings in this folder")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    model_arg(p)
    p.set_defaults(func=cmd_eval)

    # Training needs the ``train`` extra (torch); its arguments module imports none of it.
    from vision.training.cli import add_arguments

    add_arguments(sub.add_parser("train", help="convert, fine-tune, calibrate and export a model"))


def _errors() -> tuple[type[Exception], ...]:
    from vision.recognition.dataset import DatasetError
    from vision.recognition.gallery import GalleryError
    from vision.recognition.manifest import ModelError

    return (ModelError, GalleryError, DatasetError, OSError, ValueError)


def _fail(message: object) -> int:
    print(f"smartcart model: {message}", file=sys.stderr)
    return EXIT_FAILURE


def _manifest_path(args: argparse.Namespace) -> Path:
    from vision.recognition.manifest import DEFAULT_MANIFEST

    path: Path = args.model or DEFAULT_MANIFEST
    return path


def cmd_info(args: argparse.Namespace) -> int:
    from vision.recognition.manifest import Manifest

    try:
        manifest = Manifest.load(_manifest_path(args))
    except _errors() as exc:
        return _fail(exc)
    spec = manifest.input
    print(f"{manifest.name}: {manifest.model_path} (sha256 {manifest.sha256}, verified)")
    print(
        f"  input {spec.name}: {spec.channel_order} {spec.height}x{spec.width}, resize "
        f"{spec.resize} (crop fraction {spec.crop_fraction}), mean {spec.mean}, std {spec.std}"
    )
    print(f"  output {manifest.embedding_output}: {manifest.embedding_dim}-d, unit length")
    if manifest.logits_output and manifest.labels:
        temperature = manifest.logits_temperature or 1.0
        print(
            f"  output {manifest.logits_output}: {len(manifest.labels)} classes "
            f"({', '.join(manifest.labels[:3])}, …), temperature {temperature:.3f}"
        )
    print(f"  source: {manifest.source.model} ({manifest.source.licence})")
    if manifest.calibration:
        cal = manifest.calibration
        print(
            f"  calibration: {cal.method}, temperature {cal.temperature:.4f}, unknown below "
            f"{cal.unknown_threshold:.3f} ({cal.fitted_on})"
        )
    return EXIT_OK


def cmd_enroll(args: argparse.Namespace) -> int:
    from vision.recognition.enrol import NO_AUGMENTATION
    from vision.recognition.evaluate import load_image
    from vision.recognition.recogniser import RecogniserSettings
    from vision.recognition.service import ProductRecogniser

    try:
        recogniser = ProductRecogniser.open(
            args.gallery,
            _manifest_path(args),
            recogniser_settings=RecogniserSettings(intra_op_threads=args.threads),
            augmentation=NO_AUGMENTATION if args.no_augment else None,
        )
        images = [load_image(path) for path in args.images]
        added = recogniser.enroll(args.sku, images)
        recogniser.save()
    except _errors() as exc:
        return _fail(exc)
    stats = recogniser.gallery.stats()
    print(
        f"enrolled {args.sku}: {len(images)} photos, {added} views; {args.gallery} now holds "
        f"{stats.labels} products, {stats.references} views"
    )
    return EXIT_OK


def cmd_remove(args: argparse.Namespace) -> int:
    from vision.recognition.gallery import Gallery
    from vision.recognition.manifest import Manifest

    try:
        manifest = Manifest.load(_manifest_path(args), verify=False)
        gallery = Gallery.load(args.gallery, model_sha256=manifest.sha256)
        removed = gallery.remove(args.sku)
        if removed:
            gallery.save(args.gallery)
    except _errors() as exc:
        return _fail(exc)
    if not removed:
        return _fail(f"{args.sku} is not in {args.gallery}")
    print(f"removed {args.sku}: {removed} views")
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    from vision.recognition.classify import ClassifierSettings
    from vision.recognition.dataset import label_of, read_class_names, read_split
    from vision.recognition.evaluate import (
        embed_files,
        evaluate,
        write_confusion_csv,
        write_confusion_png,
    )
    from vision.recognition.gallery import Gallery
    from vision.recognition.recogniser import Recogniser, RecogniserSettings

    root: Path = args.root
    gallery_split: Path = args.gallery_split or root / "train.txt"
    try:
        names = read_class_names(root)
        query = read_split(args.split, root)
        reference = read_split(gallery_split, root)
        recogniser = Recogniser.load(
            _manifest_path(args), RecogniserSettings(intra_op_threads=args.threads)
        )
        settings = ClassifierSettings.from_calibration(recogniser.manifest.calibration)
        if args.method:
            settings = replace(settings, method=args.method)
        if args.k:
            settings = replace(settings, knn_k=args.k)
        ref = embed_files(recogniser, [s.path for s in reference], cache_dir=args.cache)
        gallery = Gallery(recogniser.dim, model_sha256=recogniser.manifest.sha256)
        ref_labels = [label_of(s.fine_id, names) for s in reference]
        for label in dict.fromkeys(ref_labels):
            gallery.add(label, ref.embeddings[[x == label for x in ref_labels]])
        got = embed_files(recogniser, [s.path for s in query], cache_dir=args.cache)
        result = evaluate(
            gallery,
            got.embeddings,
            [label_of(s.fine_id, names) for s in query],
            settings,
            ms_per_image=got.ms_per_image,
        )
        out: Path = args.out
        write_confusion_csv(result, out / "confusion.csv")
        write_confusion_png(result, out / "confusion.png")
    except _errors() as exc:
        return _fail(exc)

    summary: dict[str, Any] = {
        "model": recogniser.manifest.name,
        "split": str(args.split),
        "gallery_split": str(gallery_split),
        "gallery": {"labels": len(gallery.labels), "references": len(gallery)},
        "method": settings.method,
        "knn_k": settings.knn_k if settings.method == "knn" else None,
        "images": result.images,
        "top1": result.top1,
        "top5": result.top5,
        "mean_class_accuracy": result.mean_class_accuracy,
        "nll": result.nll,
        "ece": result.ece,
        "temperature": result.temperature,
        "unknown_rate": result.unknown_rate,
        "ms_per_image": result.ms_per_image,
        "per_class": [
            {"label": c.label, "images": c.images, "correct": c.correct, "accuracy": c.accuracy}
            for c in result.per_class
        ],
        "confusion_csv": str(out / "confusion.csv"),
        "confusion_png": str(out / "confusion.png"),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return EXIT_OK
    timing = (
        f"{result.ms_per_image:.1f} ms per image (decode + preprocess + model, "
        f"{args.threads} thread{'s' if args.threads > 1 else ''})"
        if result.ms_per_image is not None
        else "time per image: n/a (embeddings from the cache)"
    )
    print(
        f"{result.images} images, {len(gallery.labels)} classes in the gallery "
        f"({len(gallery)} references from {gallery_split.name}), {settings.method}"
    )
    print(
        f"top-1 {result.top1:.1%}  top-5 {result.top5:.1%}  "
        f"mean per-class {result.mean_class_accuracy:.1%}"
    )
    print(f"NLL {result.nll:.3f}  ECE {result.ece:.3f} (T={result.temperature:.4f})  {timing}")
    print("per class (worst first):")
    for c in sorted(result.per_class, key=lambda c: (c.accuracy, c.label)):
        print(f"  {c.accuracy:6.1%}  {c.correct:3d}/{c.images:<3d} {c.label}")
    print(f"confusion matrix: {out / 'confusion.csv'}, {out / 'confusion.png'}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``model`` commands without the rest of the CLI."""
    parser = argparse.ArgumentParser(prog="smartcart")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["model", *(argv if argv is not None else sys.argv[1:])])
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())

"""Fine-tuning the tail and heads of :class:`~.mobilenet.GroceryNet` on cached trunk features.

Each epoch visits every training photo once through one of its cached views, drawn at random
(view 0, the clean crop, included), in a shuffled order: ``views`` augmented copies become
``views`` times more distinct inputs over the run without making an epoch longer. AdamW with a
cosine schedule after a one-epoch warm-up; the pretrained tail gets a lower learning rate than
the freshly initialised heads, so the first noisy updates of the heads do not wreck the
ImageNet features. Label smoothing keeps the cosine logits from saturating.

After every epoch the validation feature maps (clean crops) are scored; the metrics go to a CSV
and a JSON log as they come, so a run can be watched (``tail -f``) and plotted when it ends.
"""

from __future__ import annotations

import csv
import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from torch.nn import functional
from tqdm import tqdm  # type: ignore[import-untyped]  # tqdm ships no type stubs

from vision.training.features import FeatureSet
from vision.training.mobilenet import GroceryNet

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """Optimiser and schedule of the tail fine-tuning."""

    epochs: int = 12
    batch_size: int = 48
    lr_tail: float = 2e-4
    lr_head: float = 3e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    seed: int = 0


@dataclass(frozen=True, slots=True)
class EpochMetrics:
    """One row of the training log."""

    epoch: int
    train_loss: float
    train_top1: float
    val_loss: float
    val_top1: float
    val_top5: float
    lr: float
    seconds: float


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch; PyTorch kernels used here are deterministic on CPU."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def outputs(
    net: GroceryNet, features: FeatureSet, batch_size: int = 128
) -> tuple[FloatArray, FloatArray]:
    """(embeddings, logits) of every feature map, in eval mode."""
    net.eval()
    embeddings, logits = [], []
    with torch.no_grad():
        for start in range(0, len(features.columns), batch_size):
            x = torch.from_numpy(features.features[start : start + batch_size].astype(np.float32))
            e, z = net.head(x)
            embeddings.append(e.numpy())
            logits.append(z.numpy())
    if not embeddings:
        return np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32)
    return np.concatenate(embeddings), np.concatenate(logits)


def topk(logits: FloatArray, columns: npt.NDArray[np.int64], k: int) -> float:
    """Fraction of rows whose true column is among the ``k`` highest logits."""
    if len(columns) == 0:
        return float("nan")
    k = min(k, logits.shape[1])
    best = np.argsort(-logits, axis=1)[:, :k]
    return float((best == columns[:, None]).any(axis=1).mean())


def _schedule(step: int, total: int, warm_up: int) -> float:
    if step < warm_up:
        return (step + 1) / warm_up
    progress = (step - warm_up) / max(1, total - warm_up)
    return 0.5 * (1 + math.cos(math.pi * progress))


def train(
    net: GroceryNet,
    train_set: FeatureSet,
    val_set: FeatureSet | None,
    config: TrainConfig,
    *,
    log_dir: Path | None = None,
    desc: str = "train",
) -> list[EpochMetrics]:
    """Fine-tune ``net``'s tail and heads; returns (and logs) the per-epoch metrics."""
    seed_everything(config.seed)
    for p in net.trunk.parameters():
        p.requires_grad_(False)
    head_params = [*net.embed.parameters(), net.class_weights, net.log_scale]
    optimiser = torch.optim.AdamW(
        [
            {"params": list(net.tail.parameters()), "lr": config.lr_tail},
            {"params": head_params, "lr": config.lr_head},
        ],
        weight_decay=config.weight_decay,
    )
    base_lrs = [config.lr_tail, config.lr_head]
    photos = int(train_set.photo.max()) + 1
    views = train_set.views
    # Row of (photo, view) in the feature array: photos are stored view-major per photo.
    row_of = np.full((photos, views), -1, dtype=np.int64)
    row_of[train_set.photo, train_set.view] = np.arange(len(train_set.photo))
    steps_per_epoch = math.ceil(photos / config.batch_size)
    total = steps_per_epoch * config.epochs
    rng = np.random.default_rng(config.seed)
    history: list[EpochMetrics] = []
    step = 0
    csv_path = json_path = None
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        csv_path, json_path = log_dir / f"{desc}-history.csv", log_dir / f"{desc}-history.json"
        with csv_path.open("w", newline="") as handle:
            csv.writer(handle).writerow(EpochMetrics.__dataclass_fields__)
    with tqdm(total=total, desc=desc, unit="batch", mininterval=5.0) as bar:
        for epoch in range(1, config.epochs + 1):
            started = time.perf_counter()
            net.train()
            net.trunk.eval()
            order = rng.permutation(photos)
            chosen = row_of[order, rng.integers(0, views, photos)]
            losses, correct = 0.0, 0
            for start in range(0, photos, config.batch_size):
                rows = chosen[start : start + config.batch_size]
                x = torch.from_numpy(train_set.features[rows].astype(np.float32))
                y = torch.from_numpy(train_set.columns[rows])
                factor = _schedule(step, total, steps_per_epoch)
                for group, base in zip(optimiser.param_groups, base_lrs, strict=True):
                    group["lr"] = base * factor
                _, logits = net.head(x)
                loss = functional.cross_entropy(logits, y, label_smoothing=config.label_smoothing)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                optimiser.step()
                losses += loss.item() * len(rows)
                correct += int((logits.argmax(1) == y).sum())
                step += 1
                bar.update(1)
                bar.set_postfix(epoch=epoch, loss=f"{loss.item():.3f}")
            val_loss = val_top1 = val_top5 = float("nan")
            if val_set is not None and len(val_set.columns):
                _, val_logits = outputs(net, val_set)
                val_loss = float(
                    functional.cross_entropy(
                        torch.from_numpy(val_logits), torch.from_numpy(val_set.columns)
                    )
                )
                val_top1 = topk(val_logits, val_set.columns, 1)
                val_top5 = topk(val_logits, val_set.columns, 5)
            row = EpochMetrics(
                epoch=epoch,
                train_loss=losses / photos,
                train_top1=correct / photos,
                val_loss=val_loss,
                val_top1=val_top1,
                val_top5=val_top5,
                lr=optimiser.param_groups[0]["lr"],
                seconds=time.perf_counter() - started,
            )
            history.append(row)
            tqdm.write(
                f"{desc} epoch {epoch}/{config.epochs}: loss {row.train_loss:.3f} "
                f"train top-1 {row.train_top1:.1%} | val loss {val_loss:.3f} "
                f"top-1 {val_top1:.1%} top-5 {val_top5:.1%} ({row.seconds:.0f} s)"
            )
            if csv_path is not None and json_path is not None:
                with csv_path.open("a", newline="") as handle:
                    csv.writer(handle).writerow(asdict(row).values())
                json_path.write_text(
                    json.dumps([asdict(r) for r in history], indent=1) + "\n", encoding="utf-8"
                )
    net.eval()
    return history

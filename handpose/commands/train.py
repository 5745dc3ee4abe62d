"""Train a thesis network on NYU-format data (the real NYU layout or `handpose synth` output).

Defaults are the thesis recipe (sec. 4.4.3): SGD lr 0.009, momentum 0.98, batch 128, up to 100 epochs,
dropout 0.03, 25% validation split, lr x0.5 when validation saturates, early stopping. Crops are
preprocessed once into a memory-mapped cache (reused while data and parameters are unchanged).
RUN_DIR gets last.pt (resume: run the same command again), best.pt (for `handpose export`), log.csv and
tb/ (TensorBoard). Ctrl-C keeps the last completed epoch.
Several GPUs / processes:  torchrun --nproc_per_node N -m handpose train ...

Several DATA_DIRs train together (e.g. synthetic frames and a folder of labelled real frames); frames whose
joint_data.mat row is NaN (not labelled) are skipped and counted. --init starts a new run from the weights of
any weights-only checkpoint of the same net (a run's best.pt, or models/depthnet.pt beside the shipped ONNX).

Examples:
  handpose train data/nyu/train --arch depthnet --out runs/depthnet
  handpose train data/synth data/labelled_real --val-data data/synth_val --arch depthnet --compact --width 0.25 \
      --optimizer adam --lr 1e-3 --batch-size 64 --init models/depthnet.pt --out runs/finetune
"""

from __future__ import annotations

import argparse
import json

ARCH_HELP = ("net1..net9, depthnet (=net6), rgbnet, rgbdnet, fusepred, fusenet-max, fusenet-sum, fusenet-cat, "
             "fusenet-conv (see `handpose nets`)")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by `train` and `tune`; their defaults are the recipe's (:mod:`training.defaults`)."""
    from training.defaults import RECIPE as R  # standard library only: no torch at parse time

    parser.add_argument("data", nargs="+", metavar="DATA_DIR", help="NYU-format directories with joint_data.mat")
    parser.add_argument("--arch", default=R.arch, help=f"architecture (default: {R.arch}): {ARCH_HELP}")
    parser.add_argument("--compact", action="store_true",
                        help="compact shipped variant: 1x1-conv bottleneck to 16 channels + fc-512 (~12 MB fp32)")
    parser.add_argument("--fc-width", type=int, default=None, help="fc layer width (default: 4096; 512 with --compact)")
    parser.add_argument("--width", type=float, default=R.width,
                        help=f"conv filter multiplier (default: {R.width} = thesis; e.g. 0.25 for a CPU-sized net)")
    parser.add_argument("--fuse-at", type=int, default=R.fuse_at,
                        help=f"Fuse-Net: fuse after this conv layer (default: {R.fuse_at})")
    parser.add_argument("--head", choices=["fc", "gap"], default=R.head,
                        help="fc = flatten + two fc layers (thesis, default); gap = global average pooling first")
    parser.add_argument("--input-size", type=int, default=R.input_size,
                        help=f"crop edge in pixels (default: {R.input_size}, thesis)")
    parser.add_argument("--epochs", type=int, default=R.epochs, help=f"maximum epochs (default: {R.epochs})")
    parser.add_argument("--batch-size", type=int, default=R.batch_size,
                        help=f"global batch size (default: {R.batch_size})")
    parser.add_argument("--centre", choices=["segment", "labels"], default=R.centre,
                        help="hand centre: the runtime's segmentation (default) or the labelled joints")
    parser.add_argument("--cube-mm", type=float, default=R.cube_mm,
                        help=f"crop cube edge in mm (default: {R.cube_mm:g})")
    parser.add_argument("--no-augment", action="store_true", help="no rotation/scale/translation augmentation")
    parser.add_argument("--centre-jitter-mm", type=float, nargs="+", default=[8.0], metavar="MM",
                        help="std of the crop centre's random shift, one value or x y z (default: 8); the "
                             "segmentation's measured centre error spread is 22.4 23.6 18.7 (scripts/centre_error.py)")
    parser.add_argument("--val-fraction", type=float, default=R.val_fraction,
                        help=f"validation share (default: {R.val_fraction})")
    parser.add_argument("--val-data", nargs="+", default=None, metavar="DIR",
                        help="separate validation directories (then every frame of DATA_DIR trains)")
    parser.add_argument("--refresh-data", nargs="+", default=None, metavar="DIR",
                        help="new frames that enter the training pool over the run, in order (see --refresh-fraction)")
    parser.add_argument("--refresh-fraction", type=float, default=R.refresh_fraction,
                        help="share of the training pool replaced by --refresh-data frames before each epoch "
                             "after the first (default: 0)")
    parser.add_argument("--test-subjects", nargs="*", default=None,
                        help="subjects (subjects.json) held out for testing (default: the last one when >= 2)")
    parser.add_argument("--max-frames", type=int, default=None, help="use only the first N frames of each directory")
    parser.add_argument("--workers", type=int, default=R.workers, help=f"data loader processes (default: {R.workers})")
    parser.add_argument("--cache-dir", default=None, help="crop cache folder (default: ~/.cache/handpose/crops)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cuda, cuda:N or cpu")
    parser.add_argument("--seed", type=int, default=R.seed, help=f"random seed (default: {R.seed})")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, one per core)")
    parser.add_argument("--channels-last", action="store_true", help="channels-last memory format")
    parser.add_argument("--augment-on", choices=["auto", "workers", "device"], default="auto",
                        help="where batches are cut and augmented: loader worker processes, or the training device "
                        "(the crop cache in its memory, one warp per batch: what feeds a GPU fast enough); default "
                        "auto = device on CUDA, workers elsewhere")
    parser.add_argument("--compile", action="store_true", help="torch.compile the net (needs a C++ compiler)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from training.defaults import RECIPE as R

    add_model_arguments(parser)
    parser.add_argument("--out", required=True, metavar="RUN_DIR", help="run directory (resumed when it exists)")
    parser.add_argument("--lr", type=float, default=R.lr, help=f"learning rate (default: {R.lr})")
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default=R.optimizer,
                        help="sgd with momentum (thesis, default) or adam (trains narrow CPU-sized nets reliably)")
    parser.add_argument("--momentum", type=float, default=R.momentum, help=f"SGD momentum (default: {R.momentum})")
    parser.add_argument("--dropout", type=float, default=R.dropout,
                        help=f"dropout after each fc layer (default: {R.dropout})")
    parser.add_argument("--schedule", choices=["plateau", "cosine", "onecycle"], default=R.schedule,
                        help="lr schedule: plateau = x0.5 when validation stalls (thesis, default); cosine = down to 0 "
                             "over --epochs; onecycle = warm-up to --lr over 30%% of the steps, then down")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="stop once this much training time is spent (per-step schedules then follow the clock; "
                             "such a run does not resume)")
    parser.add_argument("--init", default=None, metavar="CKPT",
                        help="start a new run from these weights (a weights-only checkpoint of the same net)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary on stdout at the end")


def _jitter(values: list[float]) -> float | tuple[float, float, float]:
    from inference.core.errors import HandposeError

    if len(values) not in (1, 3) or min(values) < 0:
        raise HandposeError(f"--centre-jitter-mm takes one or three non-negative values, got {values}")
    return values[0] if len(values) == 1 else (values[0], values[1], values[2])


def config_from_args(args: argparse.Namespace, out: str, **overrides: object):
    """The TrainConfig of parsed `train`/`tune` arguments."""
    from training.augment import Augment
    from training.nets import ModelConfig
    from training.train import TrainConfig

    ModelConfig(arch=args.arch)  # unknown architecture -> one clear error listing the valid names
    values = dict(
        data=args.data, out=out, arch=args.arch, compact=args.compact, fc_width=args.fc_width, fuse_at=args.fuse_at,
        width=args.width, head=args.head, input_size=args.input_size, val_data=args.val_data,
        refresh_data=args.refresh_data, refresh_fraction=args.refresh_fraction, threads=args.threads,
        channels_last=args.channels_last, compile=args.compile, augment_on=args.augment_on,
        epochs=args.epochs, batch_size=args.batch_size, centre=args.centre, cube_mm=args.cube_mm,
        augment=None if args.no_augment else Augment(shift_mm=_jitter(args.centre_jitter_mm)),
        val_fraction=args.val_fraction,
        test_subjects=args.test_subjects, max_frames=args.max_frames, workers=args.workers,
        cache_dir=args.cache_dir, device=args.device, seed=args.seed,
    )
    for key in ("lr", "momentum", "dropout", "optimizer", "schedule", "init", "max_minutes"):
        if hasattr(args, key):
            values[key] = getattr(args, key)
    values.update(overrides)
    return TrainConfig(**values)


def run(args: argparse.Namespace) -> int:
    from training.train import train

    summary = train(config_from_args(args, args.out))
    if args.json:
        print(json.dumps({k: v for k, v in summary.items() if k != "history"}))
    return 0

"""The left/right classifier of a hand's depth crop (``models/side/sidenet.onnx``), trained here with torch.

A left hand is a mirrored right hand, so one labelled crop gives two examples: the crop as it is, and the crop
flipped left-right (:func:`inference.runtime.mirror.mirror_crop`) with the other side. Every batch holds both at
random, so the net cannot learn where a side's hand usually is, only how it looks: the thumb on which side of the
palm, seen from the back or the front.

Examples come from two-hand folders of ``handpose synth --hands 2`` through the runtime's own path: the
segmentation's candidates (:func:`inference.preprocess.segmentation.segment_hands`), each matched to the labelled
palm nearest to its centre, cropped at the segmentation's centre (jittered) from the depth without the other hand
(as the pipeline crops a hand once the other is confirmed) or with it.

Candidates far from every labelled palm (forearms, background blobs; also from one-hand folders) are examples of
"not a hand".

The net (:class:`SideNet`): four stride-2 convolutions on the 128 x 128 crop, a small fc head, two logits: "a right
hand" (> 0: right; trained on hands only) and "a hand" (> 0: a hand). Exported with
:func:`export_side_classifier`: ONNX (input ``depth`` ``(B, 1, 128, 128)``, output ``logits`` ``(B, 2)``), a
weights-only ``.pt`` and a ``.json`` card beside it.

  python -m training.side_classifier DIR [DIR ...] --val DIR --out models/side/sidenet.onnx
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from inference.core.geometry import uvd_to_xyz
from inference.core.outputs import write_text_atomic
from inference.core.skeleton import PALM_CENTRE, to_eval_joints
from inference.formats.nyu_io import LEFT_JOINT_DATA, NyuSequence, read_joint_data
from inference.preprocess.crop import make_crop
from inference.preprocess.crop_defaults import CROP_SIZE, DEFAULT_CUBE_MM
from inference.preprocess.segmentation import segment_hands, without_hands
from inference.runtime.side_classifier import INPUT_NAME, OUTPUT_NAME, SIDE_MODEL_KIND

MATCH_MM = 80.0  # a candidate belongs to the labelled hand whose palm is this close to its centre
NOT_HAND_MM = 150.0  # a candidate this far from every labelled palm is not a hand (a forearm, a blob)
RIGHT, LEFT, NOT_A_HAND = 1, 0, 2  # example labels


@dataclass(frozen=True)
class SideTrainConfig:
    """Training settings (Adam, cosine decay; the crops are few and the net is small)."""

    epochs: int = 12
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    rotate_deg: float = 30.0  # in-plane rotation (a left hand turned is still a left hand)
    jitter_mm: float = 15.0  # crop centre jitter at extraction
    mask_other: float = 0.7  # fraction of crops cut without the other hand's pixels
    seed: int = 0
    threads: int = 2
    width: int = 16
    extra: int = 0


class SideNet(nn.Module):
    """``(B, 1, 128, 128)`` normalised depth crop -> ``(B, 2)`` logits of "a right hand" and "a hand".

    Four stages, each a stride-2 convolution then ``extra`` stride-1 ones (BatchNorm, ReLU), ``width`` to
    ``4 * width`` channels (128 -> 8 px), a 1x1 convolution to ``width`` channels and an fc head: the layout of the
    8 x 8 map (which side the thumb is on, which way the fingers bend) is what tells the side, so it is not pooled.
    """

    def __init__(self, width: int = 16, extra: int = 0) -> None:
        super().__init__()
        w = width
        chans = [(1, w, 5), (w, 2 * w, 3), (2 * w, 4 * w, 3), (4 * w, 4 * w, 3)]
        layers: list[nn.Module] = []
        for cin, cout, k in chans:  # 128 -> 64 -> 32 -> 16 -> 8
            layers += [nn.Conv2d(cin, cout, k, stride=2, padding=k // 2), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
            for _ in range(extra):
                layers += [nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        layers += [nn.Conv2d(4 * w, w, 1), nn.ReLU(inplace=True)]  # (B, w, 8, 8)
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(w * 8 * 8, 64), nn.ReLU(inplace=True), nn.Dropout(0.2),
                                  nn.Linear(64, 2))
        self.args = {"width": width, "extra": extra}

    def forward(self, depth: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(depth))


def extract_examples(folder: str | Path, rng: np.random.Generator, cube_mm: float = DEFAULT_CUBE_MM,
                     jitter_mm: float = 15.0, mask_other: float = 0.7, every: int = 1
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The labelled crops of a folder (one or two hands): ``(N, 128, 128)`` float16 depth crops and ``(N,)`` uint8
    labels (:data:`RIGHT`, :data:`LEFT`, :data:`NOT_A_HAND`), one per segmentation candidate that matches a labelled
    palm within ``MATCH_MM`` or lies beyond ``NOT_HAND_MM`` of all (every ``every``-th frame)."""
    folder = Path(folder)
    seq = NyuSequence(folder)
    labels = {RIGHT: to_eval_joints(read_joint_data(folder / "joint_data.mat")["joint_xyz"][0])}
    if (folder / LEFT_JOINT_DATA).exists():
        labels[LEFT] = to_eval_joints(read_joint_data(folder / LEFT_JOINT_DATA)["joint_xyz"][0])
    crops, kinds = [], []
    for number in tqdm(seq.frame_numbers[::every], desc=f"crops {folder.name}", file=sys.stderr):
        frame = seq.frame(number, with_color=False)
        intr = frame.intrinsics
        segs = [s for s in segment_hands(frame.depth_mm, intr, max_hands=2) if s.found]
        for j, seg in enumerate(segs):
            assert seg.com_uvd is not None
            centre = np.asarray(seg.com_uvd, np.float64)
            dist = {side: float(np.linalg.norm(uvd_to_xyz(centre, intr) - lab[frame.index, PALM_CENTRE]))
                    for side, lab in labels.items() if np.isfinite(lab[frame.index]).all()}
            nearest = min(dist.values(), default=np.inf)
            if nearest <= MATCH_MM:
                kind = min(dist, key=dist.__getitem__)
            elif nearest > NOT_HAND_MM:
                kind = NOT_A_HAND
            else:
                continue
            others = [o for i, o in enumerate(segs) if i != j] if rng.random() < mask_other else []
            depth = without_hands(frame.depth_mm, others)
            shift_px = rng.normal(0.0, jitter_mm, 2) * intr.fx / centre[2]
            centre = centre + np.array([shift_px[0], shift_px[1], rng.normal(0.0, jitter_mm)])
            crops.append(make_crop(depth, centre, intr, cube_mm).depth.astype(np.float16))
            kinds.append(kind)
    if not crops:
        return np.zeros((0, CROP_SIZE, CROP_SIZE), np.float16), np.zeros(0, np.uint8)
    return np.stack(crops), np.asarray(kinds, np.uint8)


def _augment(x: torch.Tensor, y: torch.Tensor, rotate_deg: float, gen: torch.Generator
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Half the batch mirrored (left and right swapped), all of it turned in the image plane (background stays 1)."""
    b = x.shape[0]
    flip = torch.rand(b, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    y = torch.where(flip & (y != NOT_A_HAND), 1 - y, y)
    angle = (torch.rand(b, generator=gen) * 2.0 - 1.0) * math.radians(rotate_deg)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([torch.stack([cos, -sin, torch.zeros(b)], 1), torch.stack([sin, cos, torch.zeros(b)], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x - 1.0, grid, mode="nearest", padding_mode="zeros", align_corners=False) + 1.0
    return x, y


def _loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The side's cross-entropy over hands, plus "a hand or not" over all examples."""
    hand = y != NOT_A_HAND
    side = F.binary_cross_entropy_with_logits(logits[hand, 0], (y[hand] == RIGHT).float()) if hand.any() else 0.0
    return side + F.binary_cross_entropy_with_logits(logits[:, 1], hand.float())


def predict_logits(net: SideNet, x: np.ndarray, mirrored: bool = False) -> np.ndarray:
    """``(N, 2)`` logits of crops ``(N, 128, 128)`` (flipped left-right first when ``mirrored``)."""
    net.eval()
    with torch.no_grad():
        xt = torch.from_numpy(x.astype(np.float32))[:, None]
        if mirrored:
            xt = xt.flip(-1)
        return torch.cat([net(xt[i:i + 512]) for i in range(0, len(xt), 512)]).numpy()


def confusion(net: SideNet, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Per-crop scores: the side of the hands (as they are and mirrored, sides swapped), with the confusion, and
    "a hand or not"."""
    logits, logits_m = predict_logits(net, x), predict_logits(net, x, mirrored=True)
    hand = y != NOT_A_HAND
    right, pred = y[hand] == RIGHT, logits[hand, 0] > 0
    out = {"hands": int(hand.sum()), "side_accuracy_pct": 100.0 * float(np.mean(pred == right)),
           "side_accuracy_mirrored_pct": 100.0 * float(np.mean((logits_m[hand, 0] > 0) == ~right)),
           "right_as_right": int(np.sum(pred & right)), "right_as_left": int(np.sum(~pred & right)),
           "left_as_left": int(np.sum(~pred & ~right)), "left_as_right": int(np.sum(pred & ~right)),
           "not_hands": int((~hand).sum())}
    is_hand = logits[:, 1] > 0
    out.update(hand_as_hand=int(np.sum(is_hand & hand)), hand_as_not=int(np.sum(~is_hand & hand)),
               not_as_hand=int(np.sum(is_hand & ~hand)), not_as_not=int(np.sum(~is_hand & ~hand)))
    return out


def train_side_classifier(x: np.ndarray, y: np.ndarray, cfg: SideTrainConfig,
                          val: tuple[np.ndarray, np.ndarray] | None = None, init: SideNet | None = None
                          ) -> tuple[SideNet, dict]:
    """Train :class:`SideNet` on crops ``x`` ``(N, 128, 128)`` with labels ``y`` ``(N,)`` (:data:`RIGHT`,
    :data:`LEFT`, :data:`NOT_A_HAND`), from ``init``'s weights when given; one JSON line per epoch on stderr."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    gen = torch.Generator().manual_seed(cfg.seed)
    net = init if init is not None else SideNet(cfg.width, cfg.extra)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * max(1, math.ceil(len(x) / cfg.batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=steps, pct_start=0.15)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    history = []
    for epoch in range(cfg.epochs):
        net.train()
        order = torch.randperm(len(x), generator=gen)
        total, t0 = 0.0, time.perf_counter()
        for i in range(0, len(x), cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            xb, yb = _augment(xt[idx].float()[:, None], yt[idx], cfg.rotate_deg, gen)
            loss = _loss(net(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        row = {"epoch": epoch + 1, "loss": total / len(x), "seconds": round(time.perf_counter() - t0, 1)}
        if val is not None:
            row.update(confusion(net, *val))
        history.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    net.eval()
    return net, {"history": history}


def export_side_classifier(net: SideNet, out: str | Path, card: dict) -> Path:
    """``out`` (.onnx, dynamic batch), ``out`` with ``.pt`` (weights only) and ``.json`` (the card) beside it."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    net.eval()
    dummy = torch.zeros(1, 1, CROP_SIZE, CROP_SIZE)
    torch.onnx.export(net, (dummy,), str(out), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                      dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}}, opset_version=17,
                      dynamo=False)
    import onnx  # the exporter's own dependency

    model = onnx.load(str(out))
    props = {"handpose.kind": SIDE_MODEL_KIND, "handpose.cube_mm": str(card["cube_mm"]),
             "handpose.input_size": str(CROP_SIZE)}
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(out))
    torch.save({"model_args": dict(net.args), "model": net.state_dict()}, out.with_suffix(".pt"))
    card = {"file": out.name, "bytes": out.stat().st_size,
            "params": sum(p.numel() for p in net.parameters()), **card}
    write_text_atomic(out.with_suffix(".json"), json.dumps(card, indent=2) + "\n")
    return out


def load_side_net(path: str | Path) -> SideNet:
    """The net of a weights-only ``.pt`` written by :func:`export_side_classifier`."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    net = SideNet(**ckpt["model_args"])
    net.load_state_dict(ckpt["model"])
    return net.eval()


def _examples(folders: list[Path], rng: np.random.Generator, cfg: SideTrainConfig, every: int
              ) -> tuple[np.ndarray, np.ndarray]:
    parts = [extract_examples(f, rng, jitter_mm=cfg.jitter_mm, mask_other=cfg.mask_other, every=every)
             for f in folders]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, nargs="+", help="two-hand training folders (handpose synth --hands 2)")
    parser.add_argument("--val", type=Path, nargs="*", default=[], help="two-hand validation folders")
    parser.add_argument("--out", type=Path, required=True, help="the .onnx to write (.pt and .json beside it)")
    parser.add_argument("--cache", type=Path, help="an .npz of the extracted crops (made once, then read)")
    parser.add_argument("--epochs", type=int, default=SideTrainConfig.epochs)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=SideTrainConfig.lr)
    parser.add_argument("--rotate-deg", type=float, default=SideTrainConfig.rotate_deg)
    parser.add_argument("--width", type=int, default=SideTrainConfig.width)
    parser.add_argument("--extra", type=int, default=SideTrainConfig.extra, help="stride-1 convolutions per stage")
    parser.add_argument("--init", type=Path, help="start from this weights-only .pt (its architecture)")
    args = parser.parse_args(argv)
    cfg = SideTrainConfig(epochs=args.epochs, seed=args.seed, lr=args.lr, rotate_deg=args.rotate_deg,
                          width=args.width, extra=args.extra)
    rng = np.random.default_rng(cfg.seed)
    if args.cache and args.cache.exists():
        cached = np.load(args.cache)
        x, y, xv, yv = cached["x"], cached["y"], cached["xv"], cached["yv"]
    else:
        x, y = _examples(args.data, rng, cfg, every=1)
        xv, yv = _examples(args.val, np.random.default_rng(cfg.seed + 1), cfg, every=1) if args.val else (x[:0], y[:0])
        if args.cache:
            np.savez(args.cache, x=x, y=y, xv=xv, yv=yv)
    counts = {name: int(np.sum(y == k)) for name, k in (("right", RIGHT), ("left", LEFT), ("not_a_hand", NOT_A_HAND))}
    print(f"{len(x)} training crops {counts}, {len(xv)} validation crops", file=sys.stderr)
    init = load_side_net(args.init) if args.init else None
    net, log = train_side_classifier(x, y, cfg, (xv, yv) if len(xv) else None, init)
    card = {"kind": SIDE_MODEL_KIND, "input": {INPUT_NAME: [None, 1, CROP_SIZE, CROP_SIZE]},
            "output": {OUTPUT_NAME: [None, 2], "meaning": "logits of [a right hand (of a hand), a hand]"},
            "cube_mm": DEFAULT_CUBE_MM, "training": {"data": [str(p) for p in args.data], "crops": counts,
                                                     "config": asdict(cfg), "init": str(args.init or ""),
                                                     "last_epoch": log["history"][-1]},
            "validation": {"data": [str(p) for p in args.val], "crops": len(xv),
                           **({} if not len(xv) else confusion(net, xv, yv))}}
    export_side_classifier(net, args.out, card)
    print(json.dumps(card["validation"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

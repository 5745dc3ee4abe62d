"""Draw how the fitted hand model lies on real depth frames: observed depth | model depth | model minus observed.

    python scripts/fit_overlay.py --model models/depthnet.onnx --frames 0,5,7,10 --out docs/fitting_real.png

Frames are indices into the real-frame set of ``python scripts/sim2real.py`` (0 = the NYU test frame 1, then
the 19 SR305 frames). Each frame runs through the runtime pipeline (real segmentation, network, fit) on its own.
Skeleton colours: the fitted joints in red, the thumb yellow and the index magenta (to see which side is which),
the NYU labels in green. The difference panel is blue where the model lies behind the observed surface, red where
it lies in front (4 grey levels per mm around mid grey); the caption gives the fit's mean point-to-surface distance
before (the network's pose) and after the fit. Needs the shared real data (``$HANDPOSE_SHARED_DATA``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from inference.core.errors import HandposeError
from inference.core.paths import shared_data_dir
from inference.core.skeleton import BONES
from inference.evaluation.sim2real import load_samples
from inference.fit.refiner import fitted_surface
from inference.runtime.pipeline import Pipeline, PipelineSettings
from inference.synth.render import DepthBuffer, Rays

TILE_PX = 256
_COLOURS = {"thumb": (0, 255, 255), "index": (255, 0, 255)}


def _grey(depth_mm: np.ndarray, centre_mm: float) -> np.ndarray:
    """Depth -> BGR grey, near = bright, over the 300 mm around ``centre_mm``; no depth is black."""
    x = np.clip((depth_mm - (centre_mm - 150.0)) / 300.0, 0.0, 1.0)
    x[~np.isfinite(depth_mm) | (depth_mm <= 0)] = 1.0
    return cv2.cvtColor((255 * (1.0 - x)).astype(np.uint8), cv2.COLOR_GRAY2BGR)


def overlay_row(pipeline: Pipeline, sample) -> np.ndarray:
    """``(TILE_PX + 24, 3 * TILE_PX, 3)`` BGR: observed | model | difference, with the skeletons and a caption."""
    frame = sample.frame
    pipeline.reset()  # independent stills, as scripts/sim2real.py fits them
    result = pipeline.process(frame)
    fit = result.fit
    if result.crop is None or fit is None or fit.params is None:
        raise HandposeError(f"{sample.name}: no fit ({result.pose.fit_status or result.segmentation.reason})")
    hand = fitted_surface(fit)  # the template hand posed as fitted
    buffer = DepthBuffer(Rays.of(frame.intrinsics))
    for capsule in hand.capsules:
        buffer.capsule(capsule[:3], capsule[3:6], capsule[6], 1)
    for ellipsoid in hand.ellipsoids:
        buffer.ellipsoid(ellipsoid, 1)
    observed = frame.depth_mm.astype(np.float32)
    model = buffer.depth
    centre = float(result.crop.com_uvd[2])
    diff = np.where(np.isfinite(model) & (observed > 0), np.clip((observed - model) * 4 + 128, 0, 255), 0)
    panels = [_grey(observed, centre), _grey(model, centre), cv2.applyColorMap(diff.astype(np.uint8),
                                                                               cv2.COLORMAP_JET)]
    fitted = result.pose.joints_uvd
    for img in panels:
        for a, b, finger in BONES:
            if sample.gt_uvd is not None:
                cv2.line(img, tuple(int(x) for x in sample.gt_uvd[a][:2]), tuple(int(x) for x in sample.gt_uvd[b][:2]),
                         (0, 255, 0), 1, cv2.LINE_AA)
            cv2.line(img, tuple(int(x) for x in fitted[a][:2]), tuple(int(x) for x in fitted[b][:2]),
                     _COLOURS.get(finger, (0, 0, 255)), 2 if finger in _COLOURS else 1, cv2.LINE_AA)
    u0, v0, u1, v1 = (int(x) for x in result.crop.window_px)

    def crop(img: np.ndarray) -> np.ndarray:
        padded = cv2.copyMakeBorder(img, TILE_PX, TILE_PX, TILE_PX, TILE_PX, cv2.BORDER_CONSTANT)
        window = padded[v0 + TILE_PX:v1 + TILE_PX, u0 + TILE_PX:u1 + TILE_PX]
        return cv2.resize(window, (TILE_PX, TILE_PX), interpolation=cv2.INTER_AREA)

    row = np.hstack([crop(p) for p in panels])
    caption = np.full((24, row.shape[1], 3), 32, np.uint8)
    text = (f"{sample.name}: {result.pose.gesture}, surface {fit.network_residual_mm:.1f} -> {fit.residual_mm:.1f} mm "
            f"({result.pose.fit_status})")
    if sample.gt_xyz_mm is not None:
        error = np.linalg.norm(result.pose.joints_xyz_mm - sample.gt_xyz_mm, axis=1).mean()
        text += f", error {error:.1f} mm"
    cv2.putText(caption, text, (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return np.vstack([row, caption])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/depthnet.onnx", help="the ONNX pose model")
    parser.add_argument("--frames", default="0,1,4,10", help="comma-separated indices into the real-frame set")
    parser.add_argument("--data", type=Path, default=None, help="shared data directory holding real_frames/")
    parser.add_argument("--out", type=Path, required=True, help="the PNG to write")
    args = parser.parse_args(argv)
    try:
        samples = load_samples((args.data or shared_data_dir()) / "real_frames")
        wanted = [int(x) for x in args.frames.split(",")]
        if not all(0 <= i < len(samples) for i in wanted):
            raise HandposeError(f"--frames must be within 0..{len(samples) - 1}, got {args.frames}")
        rows = []
        for i in wanted:  # each frame on its own: no tracking across the set's unrelated frames
            pipeline = Pipeline.from_model(args.model, PipelineSettings(smoothing=False, max_hands=1))  # as sim2real
            rows.append(overlay_row(pipeline, samples[i]))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(args.out), np.vstack(rows), [cv2.IMWRITE_PNG_COMPRESSION, 9]):
            raise HandposeError(f"{args.out}: cannot write the figure")
    except (HandposeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

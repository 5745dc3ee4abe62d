"""Choose the smoothing defaults: error against jitter for a grid of One Euro parameters.

    .venv/bin/python scripts/smoothing_sweep.py --model models/depthnet.onnx \\
        --sequences DATA/seq11 DATA/seq12 --still DATA/still15 --random DATA/random17 \\
        --plot docs/smoothing_sweep.png --json docs/smoothing_sweep.json

Every directory is an NYU-format folder made by ``handpose synth`` (``--mode sequence`` / ``still`` / ``random``).
Each frame runs once through the real pipeline without smoothing (segmentation, crop, network, decode); the
filter (:class:`inference.runtime.smoothing.JointSmoother`, with the pipeline's resets: hand lost, index going back) is
then replayed over those raw poses for every parameter set, on the frames' own timestamps:
- error: mean 3-D joint error (mm) against the labels on the 30 fps sequences, and on independent random frames;
- jitter: mean frame-to-frame joint acceleration ``|x[t+1] - 2 x[t] + x[t-1]|`` (mm) on the still hands, whose
  pose never changes: everything that moves there is noise.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from inference.core.geometry import uvd_to_xyz
from inference.runtime.estimator import OnnxEstimator
from inference.runtime.pipeline import Pipeline, PipelineSettings
from inference.runtime.smoothing import JointSmoother, SmoothingParams
from inference.sources.replay import ReplaySource

MIN_CUTOFFS_HZ = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
BETAS_PER_MM = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1)
D_CUTOFFS_HZ = (1.0,)


@dataclass
class RawRun:
    """Raw (unsmoothed) poses of one folder: ``index (N,)``, ``t_s (N,)``, ``found (N,)``, ``xyz (N, 14, 3)`` mm
    (NaN when not found) and the labels ``gt (N, 14, 3)`` mm."""

    name: str
    index: np.ndarray
    t_s: np.ndarray
    found: np.ndarray
    xyz: np.ndarray
    gt: np.ndarray


def raw_run(folder: Path, pipeline: Pipeline) -> RawRun:
    source = ReplaySource(folder, with_color=pipeline.estimator.metadata.uses_rgb)
    rows = []
    while (frame := source.read()) is not None:
        pose = pipeline.process(frame).pose
        gt = uvd_to_xyz(frame.joints_uvd, frame.intrinsics)
        xyz = pose.joints_xyz_mm if pose.found else np.full((14, 3), np.nan)
        rows.append((frame.index, frame.timestamp_s, pose.found, xyz, gt))
    index, t_s, found, xyz, gt = (np.array(c) for c in zip(*rows, strict=True))
    print(f"{folder}: {len(index)} frames, hand found in {found.sum()}", file=sys.stderr)
    return RawRun(folder.name, index, t_s, found.astype(bool), xyz, gt)


def smoothed(run: RawRun, params: SmoothingParams | None) -> np.ndarray:
    """The run's poses ``(N, 14, 3)`` through the filter as the pipeline applies it (None = no smoothing)."""
    if params is None:
        return run.xyz.copy()
    smoother = JointSmoother(params)
    out = np.full_like(run.xyz, np.nan)
    last = None
    for k in range(len(run.index)):
        if last is not None and run.index[k] <= last:
            smoother.reset("frame index went back")
        last = run.index[k]
        if not run.found[k]:
            smoother.reset("hand lost")
            continue
        out[k] = smoother.filter(run.xyz[k], run.t_s[k])
    return out


def mean_error_mm(runs: list[RawRun], params: SmoothingParams | None) -> float:
    errs = [np.linalg.norm(smoothed(r, params) - r.gt, axis=-1)[r.found].ravel() for r in runs]
    return float(np.concatenate(errs).mean())


def jitter_mm(runs: list[RawRun], params: SmoothingParams | None) -> float:
    """Mean ``|x[t+1] - 2 x[t] + x[t-1]|`` over joints and consecutive found frames of one held pose."""
    accs = []
    for r in runs:
        x = smoothed(r, params)
        same_pose = np.all(np.isclose(r.gt[2:], r.gt[1:-1]) & np.isclose(r.gt[1:-1], r.gt[:-2]), axis=(1, 2))
        acc = np.linalg.norm(x[2:] - 2 * x[1:-1] + x[:-2], axis=-1)  # (N-2, 14)
        ok = same_pose & r.found[2:] & r.found[1:-1] & r.found[:-2]
        accs.append(acc[ok].ravel())
    return float(np.concatenate(accs).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("models/depthnet.onnx"))
    parser.add_argument("--sequences", type=Path, nargs="+", required=True, help="30 fps synthetic sequences")
    parser.add_argument("--still", type=Path, nargs="+", required=True, help="still-hand folders (jitter)")
    parser.add_argument("--random", type=Path, nargs="*", default=[], help="independent random frames")
    parser.add_argument("--plot", type=Path, help="error-vs-jitter figure (PNG)")
    parser.add_argument("--json", type=Path, help="all numbers as JSON")
    parser.add_argument("--min-cutoffs", type=float, nargs="+", default=MIN_CUTOFFS_HZ, metavar="HZ")
    parser.add_argument("--betas", type=float, nargs="+", default=BETAS_PER_MM, metavar="PER_MM")
    parser.add_argument("--d-cutoffs", type=float, nargs="+", default=D_CUTOFFS_HZ, metavar="HZ")
    parser.add_argument("--chosen", nargs=3, type=float, metavar=("MIN_CUTOFF_HZ", "BETA_PER_MM", "D_CUTOFF_HZ"),
                        help="the parameters to mark as the default (default: the current defaults)")
    args = parser.parse_args(argv)

    pipeline = Pipeline(OnnxEstimator(args.model), PipelineSettings(smoothing=False, gestures=False))
    seqs = [raw_run(f, pipeline) for f in args.sequences]
    still = [raw_run(f, pipeline) for f in args.still]
    rand = [raw_run(f, pipeline) for f in args.random]
    base = {"sequence_error_mm": mean_error_mm(seqs, None), "jitter_mm": jitter_mm(still, None)}
    if rand:
        base["random_error_mm"] = mean_error_mm(rand, None)
    rows = []
    for min_cutoff, beta, d_cutoff in itertools.product(args.min_cutoffs, args.betas, args.d_cutoffs):
        params = SmoothingParams(min_cutoff_hz=min_cutoff, beta_per_mm=beta, d_cutoff_hz=d_cutoff)
        row = {"min_cutoff_hz": min_cutoff, "beta_per_mm": beta, "d_cutoff_hz": d_cutoff,
               "sequence_error_mm": mean_error_mm(seqs, params), "jitter_mm": jitter_mm(still, params)}
        if rand:
            row["random_error_mm"] = mean_error_mm(rand, params)
        rows.append(row)
    default = SmoothingParams()
    chosen = args.chosen or (default.min_cutoff_hz, default.beta_per_mm, default.d_cutoff_hz)
    fixed = {k: v for k, v in asdict(default).items() if k not in ("min_cutoff_hz", "beta_per_mm", "d_cutoff_hz")}
    out = {"model": str(args.model), "no_smoothing": base, "fixed": fixed, "grid": rows, "chosen": list(chosen)}
    print(f"{'min_cutoff_hz':>13} {'beta_per_mm':>11} {'d_cutoff_hz':>11} {'seq_err_mm':>10} {'jitter_mm':>9} "
          f"{'rand_err_mm':>11}")
    print(f"{'(none)':>13} {'':>11} {'':>11} {base['sequence_error_mm']:>10.2f} {base['jitter_mm']:>9.2f} "
          f"{base.get('random_error_mm', float('nan')):>11.2f}")
    for r in rows:
        print(f"{r['min_cutoff_hz']:>13} {r['beta_per_mm']:>11} {r['d_cutoff_hz']:>11} {r['sequence_error_mm']:>10.2f} "
              f"{r['jitter_mm']:>9.2f} {r.get('random_error_mm', float('nan')):>11.2f}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    if args.plot:
        plot(out, args.plot)
    return 0


def plot(out: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    base, rows = out["no_smoothing"], out["grid"]
    fig, ax = plt.subplots(figsize=(9, 6))
    curves = sorted({(r["beta_per_mm"], r["d_cutoff_hz"]) for r in rows})
    cmap = plt.get_cmap("viridis")
    markers = {d: m for d, m in zip(sorted({d for _, d in curves}), "osD^v", strict=False)}
    for k, (beta, d_cutoff) in enumerate(curves):
        sel = [r for r in rows if (r["beta_per_mm"], r["d_cutoff_hz"]) == (beta, d_cutoff)]
        label = f"beta {beta:g} Hz/(mm/s)" + (f", d_cutoff {d_cutoff:g} Hz" if len(markers) > 1 else "")
        ax.plot([r["jitter_mm"] for r in sel], [r["sequence_error_mm"] for r in sel], marker=markers[d_cutoff],
                ls="-", color=cmap(k / max(len(curves) - 1, 1)), label=label, ms=5)
        for r in sel:
            ax.annotate(f"{r['min_cutoff_hz']:g}", (r["jitter_mm"], r["sequence_error_mm"]), fontsize=7,
                        xytext=(3, 3), textcoords="offset points")
    ax.plot(base["jitter_mm"], base["sequence_error_mm"], "kx", ms=12, mew=2, label="no smoothing")
    chosen = [r for r in rows if [r["min_cutoff_hz"], r["beta_per_mm"], r["d_cutoff_hz"]] == out["chosen"]]
    if chosen:
        ax.plot(chosen[0]["jitter_mm"], chosen[0]["sequence_error_mm"], "r*", ms=16, label="default")
    ax.axhline(base["sequence_error_mm"] + 0.5, color="grey", ls=":", lw=1, label="no smoothing + 0.5 mm")
    ax.axvline(base["jitter_mm"] / 2, color="grey", ls="--", lw=1, label="half the jitter")
    ax.set_xscale("log")
    ax.set_ylim(base["sequence_error_mm"] - 1.0, base["sequence_error_mm"] + 4.0)  # the interesting band
    ax.set_xlabel("jitter on a still hand: mean |x[t+1] - 2x[t] + x[t-1]| (mm)")
    ax.set_ylabel("mean joint error on 30 fps sequences (mm)")
    ax.set_title("One Euro smoothing: error vs jitter (labels: min_cutoff in Hz)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())

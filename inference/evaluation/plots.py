"""The thesis' two evaluation figures, side by side in one PNG (matplotlib, Agg, no pyplot state):

left, the success rate (% of frames whose max joint error <= T) against the threshold T = 0..80 mm;
right, the mean error of each of the 14 joints (P1..C) with the overall mean as the last bar.
Several prediction sets are compared in one figure, one colour each, named by the caller (file stems).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from inference.core.outputs import atomic_write, check_output_file
from inference.core.skeleton import EVAL_SHORT_NAMES
from inference.evaluation.metrics import CURVE_THRESHOLDS_MM, EvalResult


def plot_comparison(results: Mapping[str, EvalResult], out_png: str | Path, title: str | None = None) -> Path:
    """Draw the success-rate curves and per-joint error bars of ``results`` (name -> result) to ``out_png``.

    The PNG is written under a temporary name and renamed, so an interrupted run never leaves half a file.
    Returns the path written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not results:
        raise ValueError("nothing to plot")
    out_png = Path(out_png)
    names = list(results)
    colours = [f"C{i % 10}" for i in range(len(names))]

    fig = Figure(figsize=(15, 5.6), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax_sr, ax_joint = fig.subplots(1, 2, width_ratios=(1, 1.5))

    for name, colour in zip(names, colours, strict=True):
        result = results[name]
        ax_sr.plot(CURVE_THRESHOLDS_MM, result.success_rate_pct(CURVE_THRESHOLDS_MM), color=colour, lw=2,
                   label=f"{name} ({result.mean_error_mm:.2f} mm)")
    ax_sr.set(xlim=(0, CURVE_THRESHOLDS_MM[-1]), ylim=(0, 100), xlabel="max joint error threshold (mm)",
              ylabel="frames with max error within threshold (%)", title="Success rate")
    ax_sr.set_xticks(np.arange(0, CURVE_THRESHOLDS_MM[-1] + 1, 10))
    ax_sr.grid(True, alpha=0.3)
    ax_sr.legend(loc="lower right", fontsize="small")

    labels = [*EVAL_SHORT_NAMES, "Mean"]
    x = np.arange(len(labels))
    width = 0.8 / len(names)
    tallest_mm = 0.0
    for k, (name, colour) in enumerate(zip(names, colours, strict=True)):
        result = results[name]
        heights = np.append(result.per_joint_mm, result.mean_error_mm)
        ax_joint.bar(x - 0.4 + width * (k + 0.5), heights, width, color=colour, label=name)
        tallest_mm = max(tallest_mm, float(np.nanmax(heights, initial=0.0)))
    ax_joint.axvline(len(labels) - 1.5, color="0.5", lw=0.8, ls="--")  # set the overall mean apart
    ax_joint.set_xticks(x, labels)
    ax_joint.set(xlim=(-0.6, len(labels) - 0.4), xlabel="joint", ylabel="mean 3D error (mm)",
                 title="Mean error per joint")
    ax_joint.grid(True, axis="y", alpha=0.3)
    if len(names) > 1:
        ax_joint.set_ylim(0, (tallest_mm or 1.0) * 1.3)  # headroom so the legend covers no bar
        ax_joint.legend(loc="upper left", fontsize="small", ncols=min(len(names), 3))
    if title:
        fig.suptitle(title)

    check_output_file(out_png, "--plot")
    out_png.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out_png, "wb", flag="--plot") as fh:
        fig.savefig(fh, format="png")
    return out_png


def check_plot_path(out_png: str | Path) -> None:
    """Fail now, before minutes of evaluation, when ``out_png`` cannot be written (its folder is created)."""
    check_output_file(out_png, "--plot")

"""Live plots (pyqtgraph): FPS and per-stage latency over the last few hundred frames."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.state import STAGES, StageHistory
from app.view3d import FIT_RGB

STAGE_COLOURS: dict[str, tuple[int, int, int]] = {
    "capture": (150, 150, 150),
    "segment": (60, 200, 80),
    "crop": (40, 150, 240),
    "infer": (240, 170, 30),
    "fit": FIT_RGB,  # the fitted model's colour in the 3D view
    "post": (170, 80, 230),
    "render": (230, 60, 60),
}


class LatencyPlots(QWidget):
    """Two stacked plots sharing the frame axis: FPS on top, stage latencies (ms) below."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(260, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.fps_plot = pg.PlotWidget()
        self.fps_plot.setLabel("left", "FPS")
        self.fps_plot.showGrid(x=True, y=True, alpha=0.3)
        self.fps_plot.setMouseEnabled(x=False, y=False)
        self.fps_plot.hideAxis("bottom")
        self.fps_curve = self.fps_plot.plot(pen=pg.mkPen((240, 240, 240), width=2))
        self.latency_plot = pg.PlotWidget()
        self.latency_plot.setLabel("left", "ms")
        self.latency_plot.setLabel("bottom", "frame (most recent right)")
        self.latency_plot.showGrid(x=True, y=True, alpha=0.3)
        self.latency_plot.setMouseEnabled(x=False, y=False)
        self.stage_curves = {
            stage: self.latency_plot.plot(pen=pg.mkPen(STAGE_COLOURS[stage], width=1.5)) for stage in STAGES
        }
        # The legend is a line of text above the plot, so it never hides a curve.
        self.legend = QLabel("stage ms: " + "  ".join(
            f'<span style="color: rgb{STAGE_COLOURS[s]}; font-weight: bold;">&#9644; {s}</span>' for s in STAGES
        ))
        self.legend.setWordWrap(True)
        self.latency_plot.setXLink(self.fps_plot)
        layout.addWidget(self.fps_plot, 2)
        layout.addWidget(self.legend)
        layout.addWidget(self.latency_plot, 3)

    def update_from(self, history: StageHistory) -> None:
        """Redraw from a :class:`StageHistory` (NaN entries, e.g. a stage a source lacks, leave gaps)."""
        fps = np.fromiter(history.fps, np.float64)
        x = np.arange(len(fps))
        self.fps_curve.setData(x, fps)
        for stage, curve in self.stage_curves.items():
            y = np.fromiter(history.stages_ms[stage], np.float64)
            curve.setData(x[: len(y)], y, connect="finite")

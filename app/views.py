"""2D views: colour-mapped depth and RGB with the skeleton, the cube outline and the network input.

Drawing is plain QPainter on a QWidget: the image is scaled to fit (aspect kept, centred) and the
overlays are drawn in image pixel coordinates through the same transform, so
:meth:`ImageCanvas.image_to_widget` tells exactly where a joint lands on screen (the tests use it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPen, QTransform
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QWidget

from inference.core.skeleton import BONES, FINGER_COLOURS, JOINT_FINGER

BONE_WIDTH_PX = 3.0
JOINT_RADIUS_PX = 3.5
LABEL_SIZE_PX = 18.0  # the L/R badge of a hand (screen pixels)


# Each finger's bones, in BONES order: drawn with one pen in one call.
_BONES_BY_FINGER: dict[str, list[tuple[int, int]]] = {}
for _parent, _child, _finger in BONES:
    _BONES_BY_FINGER.setdefault(_finger, []).append((_parent, _child))


@dataclass(frozen=True)
class _Styles:
    """The pens and brushes the overlays draw with, made once: building them per bone and frame was most of the
    skeleton's drawing time, on the UI thread."""

    bone_pens: dict[str, QPen]
    joint_brushes: dict[str, QBrush]
    truth_pen: QPen
    edge_pen: QPen


def _pen(colour: QColor, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    """A cosmetic pen (width in screen pixels whatever the image scale); solid lines end round."""
    out = QPen(colour, width, style)
    out.setCosmetic(True)
    if style == Qt.PenStyle.SolidLine:
        out.setCapStyle(Qt.PenCapStyle.RoundCap)
    return out


@cache
def _styles() -> _Styles:
    return _Styles(
        bone_pens={f: _pen(QColor(*rgb), BONE_WIDTH_PX) for f, rgb in FINGER_COLOURS.items()},
        joint_brushes={f: QBrush(QColor(*rgb).lighter(130)) for f, rgb in FINGER_COLOURS.items()},
        truth_pen=_pen(QColor(255, 255, 255, 200), 1.5),
        edge_pen=_pen(QColor(255, 255, 255, 150), 1.0, Qt.PenStyle.DashLine),
    )


def _bone_lines(points: list[list[float]], bones: list[tuple[int, int]]) -> list[QLineF]:
    """The lines ``points[parent] -> points[child]`` of ``bones`` (image pixels), for one ``drawLines`` call."""
    return [QLineF(*points[p], *points[c]) for p, c in bones]


_ALL_BONES = [(p, c) for p, c, _ in BONES]


def to_qimage(rgb: np.ndarray) -> QImage:
    """``(H, W, 3)`` uint8 RGB -> a QImage that owns a copy of the pixels."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


class ImageCanvas(QWidget):
    """An image with an optional skeleton (predicted and ground truth) and cube outline on top."""

    def __init__(self, title: str, parent: QWidget | None = None, min_size: QSize = QSize(240, 180)) -> None:
        super().__init__(parent)
        self.title = title
        self.setMinimumSize(min_size)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._image: QImage | None = None
        self._joints_uv: np.ndarray | None = None
        self._gt_uv: np.ndarray | None = None
        self._edges_uv: np.ndarray | None = None
        self._hands: list = []
        self.message = ""
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def set_content(
        self,
        rgb: np.ndarray | None,
        joints_uv: np.ndarray | None = None,
        gt_uv: np.ndarray | None = None,
        cube_edges_uv: np.ndarray | None = None,
        message: str = "",
        hands: list | None = None,
    ) -> None:
        """Image ``(H, W, 3)`` uint8; joints ``(J, 2)`` and cube edges ``(E, 2, 2)`` in image pixels; ``hands``
        (:class:`app.state.HandView`, with their sides) are drawn each in its side's colour with its letter,
        instead of ``joints_uv``."""
        self._image = to_qimage(rgb) if rgb is not None else None
        self._joints_uv, self._gt_uv, self._edges_uv = joints_uv, gt_uv, cube_edges_uv
        self._hands = list(hands or [])
        self.message = message
        self.update()

    def image_transform(self) -> QTransform:
        """Image pixel coordinates -> widget coordinates (scale to fit, centred)."""
        if self._image is None or self._image.width() == 0:
            return QTransform()
        iw, ih = self._image.width(), self._image.height()
        scale = min(self.width() / iw, self.height() / ih)
        dx = (self.width() - iw * scale) / 2
        dy = (self.height() - ih * scale) / 2
        return QTransform(scale, 0, 0, scale, dx, dy)

    def image_to_widget(self, u: float, v: float) -> QPointF:
        """Where image point (u px, v px) is drawn in this widget (pixel centres at +0.5)."""
        return self.image_transform().map(QPointF(u + 0.5, v + 0.5))

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(20, 20, 24))
        if self._image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            transform = self.image_transform()
            painter.setTransform(transform)
            painter.drawImage(QRectF(0, 0, self._image.width(), self._image.height()), self._image)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            # Overlays in image pixels; cosmetic pens keep line widths in screen pixels.
            painter.translate(0.5, 0.5)
            if self._edges_uv is not None:
                self._draw_edges(painter)
            if self._gt_uv is not None:
                self.draw_skeleton(painter, self._gt_uv, ground_truth=True)
            if len(self._hands) > 1:
                for hand in self._hands:
                    self.draw_side_skeleton(painter, hand)
            elif self._joints_uv is not None:
                self.draw_skeleton(painter, self._joints_uv, ground_truth=False)
                if self._hands:  # one hand whose side is known: its letter only
                    self.draw_side_skeleton(painter, self._hands[0], bones=False)
            painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self._draw_caption(painter)
        painter.end()

    def _draw_edges(self, painter: QPainter) -> None:
        painter.setPen(_styles().edge_pen)
        edges = np.asarray(self._edges_uv, np.float64).reshape(-1, 4)
        painter.drawLines([QLineF(*e) for e in edges[np.isfinite(edges).all(axis=1)].tolist()])

    def draw_skeleton(self, painter: QPainter, uv: np.ndarray, ground_truth: bool) -> None:
        if not np.all(np.isfinite(uv)):
            return
        styles = _styles()
        points = np.asarray(uv, np.float64).tolist()
        if ground_truth:
            painter.setPen(styles.truth_pen)
            painter.drawLines(_bone_lines(points, _ALL_BONES))
            return
        for finger, bones in _BONES_BY_FINGER.items():  # one pen per finger: its bones in one call
            painter.setPen(styles.bone_pens[finger])
            painter.drawLines(_bone_lines(points, bones))
        # Joint markers: a fixed screen radius regardless of the image scale.
        scale = painter.transform().m11() or 1.0
        radius = JOINT_RADIUS_PX / scale
        painter.setPen(Qt.PenStyle.NoPen)
        for j, (u, v) in enumerate(points):
            painter.setBrush(styles.joint_brushes[JOINT_FINGER[j]])
            painter.drawEllipse(QPointF(u, v), radius, radius)

    def draw_side_skeleton(self, painter: QPainter, hand, bones: bool = True) -> None:
        """One hand of several (:class:`app.state.HandView`): bones and joints in its side's colour (``bones``), its
        letter (L/R) in a badge of that colour above its highest joint."""
        uv = hand.joints_uv
        if not np.all(np.isfinite(uv)):
            return
        colour = QColor(*hand.colour)
        scale = painter.transform().m11() or 1.0
        if bones:
            painter.setPen(_pen(colour, BONE_WIDTH_PX))
            painter.drawLines(_bone_lines(np.asarray(uv, np.float64).tolist(), _ALL_BONES))
            radius = JOINT_RADIUS_PX / scale
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour.lighter(140))
            for u, v in uv:
                painter.drawEllipse(QPointF(u, v), radius, radius)
        painter.setPen(Qt.PenStyle.NoPen)
        top = uv[int(np.argmin(uv[:, 1]))]
        side = LABEL_SIZE_PX / scale
        badge = QRectF(top[0] - side / 2, top[1] - 1.6 * side, side, side)
        painter.setBrush(colour)
        painter.drawRoundedRect(badge, side / 5, side / 5)
        font = QFont(self.font())
        font.setBold(True)
        font.setPixelSize(max(1, round(0.7 * LABEL_SIZE_PX)))
        painter.save()
        painter.translate(badge.center())
        painter.scale(1 / scale, 1 / scale)  # the letter at a fixed screen size
        painter.setFont(font)
        painter.setPen(QColor(20, 20, 24))
        half = LABEL_SIZE_PX / 2
        painter.drawText(QRectF(-half, -half, 2 * half, 2 * half), Qt.AlignmentFlag.AlignCenter, hand.letter)
        painter.restore()

    def _draw_caption(self, painter: QPainter) -> None:
        font = QFont(self.font())
        font.setPointSizeF(max(9.0, font.pointSizeF()))
        font.setBold(True)
        painter.setFont(font)
        lines = [self.title] + ([self.message] if self.message else [])
        metrics = painter.fontMetrics()
        y = 4
        for line in lines:
            rect = metrics.boundingRect(line).adjusted(-4, -2, 4, 2)
            rect.moveTo(4, y)
            painter.fillRect(rect, QColor(0, 0, 0, 160))
            painter.setPen(QColor(240, 240, 240))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, line)
            y += rect.height() + 2


class ImagePanel(QWidget):
    """Depth and RGB canvases side by side, or one of them ("both" / "depth" / "rgb")."""

    MODES = ("both", "depth", "rgb")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.depth = ImageCanvas("Depth")
        self.rgb = ImageCanvas("RGB")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.depth)
        layout.addWidget(self.rgb)
        self.show_ground_truth = True
        self.mode = "both"

    def set_mode(self, mode: str) -> None:
        if mode not in self.MODES:
            raise ValueError(f"image mode must be one of {self.MODES}, got {mode!r}")
        self.mode = mode
        self.depth.setVisible(mode in ("both", "depth"))
        self.rgb.setVisible(mode in ("both", "rgb"))

    def show_state(self, state) -> None:
        """Draw an :class:`app.state.ViewState`."""
        gt = state.gt_uv if self.show_ground_truth else None
        message = "" if state.found else f"no hand: {state.reason}"
        if state.error_mm is not None and self.show_ground_truth:
            message = f"error vs ground truth {state.error_mm:.1f} mm"
        self.depth.set_content(state.depth_rgb, state.joints_uv, gt, state.cube_edges_uv, message, state.hands)
        if state.color is not None:
            self.rgb.set_content(state.color, state.joints_uv, gt, state.cube_edges_uv, hands=state.hands)
        else:
            self.rgb.set_content(None, message="this source has no RGB")


class CropInset(ImageCanvas):
    """The 128x128 network input with the predicted joints in crop pixels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Network input", parent, min_size=QSize(150, 150))
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setFixedSize(170, 170)

    def show_state(self, state) -> None:
        self.set_content(state.crop_rgb, state.crop_joints_px)

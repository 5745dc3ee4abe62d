"""The embedded 3D view (pyqtgraph.opengl): the hand's point cloud, the 3D skeleton and the fitted hand model (points
on its surface, magenta); orbit/zoom by mouse.

The scene is a ``QOpenGLWindow`` (:class:`HandScene`, pyqtgraph's ``GLViewMixin``) in a window container
(:class:`HandView3D`), not a ``QOpenGLWidget``: a ``QOpenGLWidget`` makes Qt compose the whole main window through
OpenGL on every repaint, which under software OpenGL (a virtual display, a remote desktop, a machine without a GPU
driver) cost about a third of a core at the app's frame rate; the window renders only its own pixels.

Camera space (mm, x right, y up, z away from the camera) is shown in GL coordinates (x, z, y) so that
"up" is up and the view orbits around the hand's centre; everything is in metres relative to the hand
centre so the default camera distance fits any hand position.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph.opengl as gl
from OpenGL import GL
from pyqtgraph.opengl.GLGraphicsItem import GLOptions
from pyqtgraph.opengl.GLViewWidget import GLViewMixin
from PySide6.QtCore import QRect
from PySide6.QtGui import QImage
from PySide6.QtOpenGL import QOpenGLWindow
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

from inference.core.skeleton import BONES, FINGER_COLOURS, JOINT_FINGER


def camera_to_gl(points_mm: np.ndarray, centre_mm: np.ndarray) -> np.ndarray:
    """``(N, 3)`` camera-space mm (y up, z forward) -> ``(N, 3)`` GL metres (x right, y into the screen, z up)."""
    rel = (np.asarray(points_mm, np.float32) - np.asarray(centre_mm, np.float32)) / 1000.0
    return np.ascontiguousarray(rel[:, [0, 2, 1]])


def _rgba(rgb: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """``(N, 3)`` uint8 -> ``(N, 4)`` float32 in [0, 1]."""
    out = np.empty((len(rgb), 4), np.float32)
    out[:, :3] = np.asarray(rgb, np.float32) / 255.0
    out[:, 3] = alpha
    return out


_BONE_RGBA = np.repeat(_rgba(np.array([FINGER_COLOURS[f] for _, _, f in BONES])), 2, axis=0)  # (2*bones, 4)
_JOINT_RGBA = _rgba(np.array([FINGER_COLOURS[f] for f in JOINT_FINGER]))
FIT_RGB = (255, 80, 200)  # magenta: in neither the turbo depth map nor the finger colours
# The fitted model lies on the observed cloud, which would hide it: it is blended over it, without the depth test.
_OVER_THE_CLOUD = {**GLOptions["translucent"], GL.GL_DEPTH_TEST: False}


class HandView3D(QWidget):
    """The 3D view as a widget: :class:`HandScene` in a window container (see the module docstring)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(260, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.scene = HandScene()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QWidget.createWindowContainer(self.scene, self))

    @property
    def colour_mode(self) -> str:
        """How the cloud is coloured: ``"depth"`` or ``"rgb"``."""
        return self.scene.colour_mode

    @colour_mode.setter
    def colour_mode(self, mode: str) -> None:
        self.scene.colour_mode = mode

    @property
    def show_fit(self) -> bool:
        """Draw the fitted hand model."""
        return self.scene.show_fit

    @show_fit.setter
    def show_fit(self, show: bool) -> None:
        self.scene.show_fit = show

    def show_state(self, state) -> None:
        """Draw an :class:`app.state.ViewState` (see :meth:`HandScene.show_state`)."""
        self.scene.show_state(state)

    def grab_image(self) -> QImage:
        """What the view shows now (its own pixels: a widget grab of the window around it leaves this area blank)."""
        return self.scene.grabFramebuffer()


class HandScene(GLViewMixin, QOpenGLWindow):
    """Point cloud coloured by depth or RGB, with the predicted 3D skeleton and the fitted model (``show_fit``)."""

    def __init__(self) -> None:
        super().__init__()
        self.setBackgroundColor((18, 18, 22))
        # Look at the hand from the camera's side (azimuth -90 puts the GL -y axis, i.e. the camera, in front).
        self.setCameraPosition(distance=0.55, elevation=8, azimuth=-90)
        grid = gl.GLGridItem()
        grid.setSize(0.4, 0.4)
        grid.setSpacing(0.05, 0.05)
        grid.translate(0, 0, -0.15)
        self.addItem(grid)
        self.cloud = gl.GLScatterPlotItem(pos=np.zeros((1, 3), np.float32), size=2.0, pxMode=True)
        self.cloud.setGLOptions("opaque")
        self.bones = gl.GLLinePlotItem(pos=np.zeros((2, 3), np.float32), mode="lines", width=3.0, antialias=True)
        self.joints = gl.GLScatterPlotItem(pos=np.zeros((1, 3), np.float32), size=9.0, pxMode=True)
        self.fit = gl.GLScatterPlotItem(pos=np.zeros((1, 3), np.float32), size=2.5, pxMode=True)
        self.fit.setGLOptions(_OVER_THE_CLOUD)
        for item in (self.cloud, self.fit, self.bones, self.joints):
            item.setVisible(False)
            self.addItem(item)
        self.labels: list[gl.GLTextItem] = []  # the L/R letter of each hand (several hands)
        self.colour_mode = "depth"  # or "rgb"
        self.show_fit = True
        self._fit_rgba = _rgba(np.array([FIT_RGB]), alpha=0.8)  # grown to the number of fitted points once, then reused

    def rect(self) -> QRect:
        """The viewport in device-independent pixels: pyqtgraph's text items (the hands' L/R letters) project onto
        ``view().rect()``, which a ``QWindow`` lacks (``QWidget`` has it); without it every label failed to draw."""
        return QRect(0, 0, self.width(), self.height())

    def _show_fit(self, points_mm: np.ndarray | None, centre_mm: np.ndarray) -> None:
        if not self.show_fit or points_mm is None or len(points_mm) == 0:
            self.fit.setVisible(False)
            return
        if len(self._fit_rgba) != len(points_mm):  # the model's sample count is fixed: this happens once
            self._fit_rgba = np.repeat(self._fit_rgba[:1], len(points_mm), axis=0)
        self.fit.setData(pos=camera_to_gl(points_mm, centre_mm), color=self._fit_rgba)
        self.fit.setVisible(True)

    def show_state(self, state) -> None:
        """Draw an :class:`app.state.ViewState` (keeps the previous cloud when no hand was found)."""
        centre = state.com_xyz_mm
        if centre is None or len(state.points_xyz_mm) == 0:
            self.bones.setVisible(False)
            self.joints.setVisible(False)
            self.fit.setVisible(False)
            return
        colours = state.points_color_rgb if self.colour_mode == "rgb" and state.points_color_rgb is not None else (
            state.points_depth_rgb
        )
        self.cloud.setData(pos=camera_to_gl(state.points_xyz_mm, centre), color=_rgba(colours))
        self.cloud.setVisible(True)
        self._show_fit(state.fit_points_xyz_mm, centre)
        if state.joints_xyz_mm is None:
            self.bones.setVisible(False)
            self.joints.setVisible(False)
            self._show_labels([], centre)
            return
        if len(state.hands) > 1:  # several hands: each in its side's colour
            joints = [camera_to_gl(h.joints_xyz_mm, centre) for h in state.hands]
            segments = np.concatenate([j[[k for p, c, _ in BONES for k in (p, c)]] for j in joints])
            bone_rgba = np.concatenate([np.repeat(_rgba(np.array([h.colour])), 2 * len(BONES), axis=0)
                                        for h in state.hands])
            joint_rgba = np.concatenate([np.repeat(_rgba(np.array([h.colour])), len(j), axis=0)
                                         for h, j in zip(state.hands, joints, strict=True)])
            self.bones.setData(pos=segments, color=bone_rgba, mode="lines", width=3.0)
            self.joints.setData(pos=np.concatenate(joints), color=joint_rgba, size=9.0)
        else:
            joints_gl = camera_to_gl(state.joints_xyz_mm, centre)
            segments = joints_gl[[j for p, c, _ in BONES for j in (p, c)]]
            self.bones.setData(pos=segments, color=_BONE_RGBA, mode="lines", width=3.0)
            self.joints.setData(pos=joints_gl, color=_JOINT_RGBA, size=9.0)
        self._show_labels(state.hands, centre)
        self.bones.setVisible(True)
        self.joints.setVisible(True)

    def _show_labels(self, hands: list, centre: np.ndarray) -> None:
        """Each hand's letter (L/R) in its colour, 3 cm above its highest joint."""
        while len(self.labels) < len(hands):
            label = gl.GLTextItem()
            self.labels.append(label)
            self.addItem(label)
        for k, label in enumerate(self.labels):
            if k >= len(hands):
                label.setVisible(False)
                continue
            hand = hands[k]
            top = camera_to_gl(hand.joints_xyz_mm, centre)
            top = top[int(np.argmax(top[:, 2]))] + np.array([0.0, 0.0, 0.03], np.float32)
            label.setData(pos=top, color=(*hand.colour, 255), text=hand.letter)
            label.setVisible(True)

"""A separate Open3D point-cloud window (legacy Visualizer) kept live by a QTimer, opened from the toolbar.

Open3D cannot be embedded in a Qt widget on Linux, so it gets its own GLFW window; the Qt event loop
pumps it (``poll_events`` / ``update_renderer``) every timer tick. Geometry is in metres, camera space
with z negated so the default Open3D camera (looking down -z) sees the hand from the sensor's side.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from inference.core.errors import HandposeError
from inference.core.skeleton import BONES, FINGER_COLOURS

PUMP_INTERVAL_MS = 30


def _to_open3d_m(points_mm: np.ndarray) -> np.ndarray:
    """``(N, 3)`` camera mm (y up, z forward) -> ``(N, 3)`` float64 metres with z towards the viewer."""
    out = np.asarray(points_mm, np.float64) / 1000.0
    out[:, 2] *= -1.0
    return out


class Open3DWindow(QObject):
    """The live Open3D window. Emits :attr:`closed` when the user closes it or :meth:`close` is called."""

    closed = Signal()

    def __init__(self, parent: QObject | None = None, width: int = 800, height: int = 600) -> None:
        super().__init__(parent)
        import open3d as o3d

        self._o3d = o3d
        self.vis = o3d.visualization.Visualizer()
        if not self.vis.create_window("handpose: point cloud (Open3D)", width=width, height=height, visible=True):
            raise HandposeError("Open3D could not open a window (needs an OpenGL display)")
        options = self.vis.get_render_option()
        options.background_color = np.array([0.07, 0.07, 0.09])
        options.point_size = 2.0
        self.cloud = o3d.geometry.PointCloud()
        self.skeleton = o3d.geometry.LineSet()
        self._added = False
        self._open = True
        self.frames_shown = 0
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._pump)
        self._timer.start(PUMP_INTERVAL_MS)

    @property
    def is_open(self) -> bool:
        return self._open

    def show_state(self, state, colour_mode: str = "depth") -> None:
        """Replace the geometry with an :class:`app.state.ViewState`'s cloud and skeleton."""
        if not self._open or len(state.points_xyz_mm) == 0:
            return
        o3d = self._o3d
        colours = state.points_color_rgb if colour_mode == "rgb" and state.points_color_rgb is not None else (
            state.points_depth_rgb
        )
        self.cloud.points = o3d.utility.Vector3dVector(_to_open3d_m(state.points_xyz_mm))
        self.cloud.colors = o3d.utility.Vector3dVector(np.asarray(colours, np.float64) / 255.0)
        if state.joints_xyz_mm is not None:
            self.skeleton.points = o3d.utility.Vector3dVector(_to_open3d_m(state.joints_xyz_mm))
            self.skeleton.lines = o3d.utility.Vector2iVector(np.array([(p, c) for p, c, _ in BONES], np.int32))
            self.skeleton.colors = o3d.utility.Vector3dVector(
                np.array([FINGER_COLOURS[f] for _, _, f in BONES], np.float64) / 255.0
            )
        if not self._added:  # the first geometry sets the view's bounding box
            self.vis.add_geometry(self.cloud, reset_bounding_box=True)
            self.vis.add_geometry(self.skeleton, reset_bounding_box=False)
            self._added = True
        else:
            self.vis.update_geometry(self.cloud)
            self.vis.update_geometry(self.skeleton)
        self.frames_shown += 1

    def capture(self) -> np.ndarray:
        """The window's current image ``(H, W, 3)`` float32 in [0, 1]."""
        self.vis.poll_events()
        self.vis.update_renderer()
        return np.asarray(self.vis.capture_screen_float_buffer(do_render=True))

    def _pump(self) -> None:
        if not self._open:
            return
        if not self.vis.poll_events():  # the user closed the window
            self.close()
            return
        self.vis.update_renderer()

    def close(self) -> None:
        """Destroy the window (idempotent)."""
        if not self._open:
            return
        self._open = False
        self._timer.stop()
        self.vis.destroy_window()
        self.closed.emit()


class Open3DViewer(QObject):
    """The app's one Open3D window: opened and closed on request, fed every shown frame while open.

    Emits :attr:`closed` when the window goes away (the user closed it, or :meth:`set_visible` did).
    """

    closed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window: Open3DWindow | None = None

    def set_visible(self, visible: bool, state=None, colour_mode: str = "depth") -> None:
        """Open the window (drawing ``state`` at once when given) or close it.

        Raises :class:`HandposeError` when Open3D cannot open a window (no OpenGL display).
        """
        if visible and (self.window is None or not self.window.is_open):
            self.window = Open3DWindow(self)
            self.window.closed.connect(self.closed)
            if state is not None:
                self.window.show_state(state, colour_mode)
        elif not visible and self.window is not None:
            self.window.close()
            self.window = None

    def show_state(self, state, colour_mode: str) -> None:
        """Draw an :class:`app.state.ViewState` while the window is open (nothing otherwise)."""
        if self.window is not None and self.window.is_open:
            self.window.show_state(state, colour_mode)

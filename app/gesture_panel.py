"""The gesture panel: the recognised gesture in large type (readable from across a room), its confidence and
a short history of the previous distinct gestures."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.state import GestureHistory, hands_gesture_text
from inference.core.gesture_names import FINGER_COUNT

MAX_NAME_PT, MIN_NAME_PT = 30, 12


def gesture_title(gesture: str | None) -> str:
    """``"v_sign"`` -> ``"V sign"``; None -> an em dash."""
    if not gesture:
        return "—"
    return gesture.replace("_", " ").capitalize()


class ConfidenceBar(QWidget):
    """A bar with "confidence NN%". Unlike QProgressBar (which repaints synchronously: ~25 ms per frame next to
    a GL view here) it schedules an ordinary deferred update."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.value = 0.0
        self.setFixedHeight(24)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_value(self, value: float) -> None:
        """Confidence in [0, 1]."""
        value = min(max(float(value), 0.0), 1.0)
        if value != self.value:
            self.value = value
            self.update()

    def text(self) -> str:
        return f"confidence {round(100 * self.value)}%"

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        rect = self.rect().adjusted(0, 0, -1, -1)
        painter.fillRect(rect, QColor(45, 45, 50))
        filled = rect.adjusted(0, 0, -round(rect.width() * (1.0 - self.value)), 0)
        painter.fillRect(filled, QColor(40, 130, 220))
        painter.setPen(QColor(235, 235, 235))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.text())
        painter.end()


class GesturePanel(QWidget):
    """Big gesture name, confidence bar, finger count and history."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.history = GestureHistory(length=6)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        caption = QLabel("Gesture")
        caption.setStyleSheet("color: #aaa;")
        self.name = QLabel("—")
        self.name.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # Fixed geometry: a new gesture must not re-layout the window (that resizes the GL view: ~50 ms).
        self.name.setFixedHeight(64)
        self.name.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._set_name("—")
        self.confidence = ConfidenceBar()
        self.count = QLabel("")
        self.count.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.per_hand = QLabel("")  # several hands: each one's gesture ("R: point · L: fist")
        self.per_hand.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.per_hand.setFixedHeight(22)
        self.per_hand.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.history_label = QLabel("")
        self.history_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.history_label.setStyleSheet("color: #bbb;")
        self.history_label.setWordWrap(True)
        self.history_label.setFixedHeight(48)
        self.history_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.count.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        for widget in (caption, self.name, self.confidence, self.count, self.per_hand, self.history_label):
            layout.addWidget(widget)
        layout.addStretch(1)

    def _set_name(self, text: str) -> None:
        """Show ``text`` in the largest bold font (up to 30 pt) that fits the panel's width on one line."""
        if text == self.name.text() and self.name.property("fitted_width") == self.width():
            return
        font = QFont(self.font())
        font.setBold(True)
        available = max(self.width() - 16, 100)
        for size in range(MAX_NAME_PT, MIN_NAME_PT - 1, -2):
            font.setPointSize(size)
            if QFontMetrics(font).horizontalAdvance(text) <= available:
                break
        self.name.setFont(font)
        self.name.setText(text)
        self.name.setProperty("fitted_width", self.width())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._set_name(self.name.text())

    def show_state(self, state) -> None:
        """Show the gesture of an :class:`app.state.ViewState` ("—" when no hand or no gesture)."""
        gesture = state.gesture if state.found else None
        self.history.add(gesture, state.gesture_confidence)
        self._set_name(gesture_title(gesture))
        self.confidence.set_value(state.gesture_confidence if gesture else 0.0)
        self.count.setText(f"{FINGER_COUNT[gesture]} fingers" if gesture in FINGER_COUNT else "")
        self.per_hand.setText(hands_gesture_text(state))
        previous = list(self.history.entries)[1:]
        self.history_label.setText("before: " + ", ".join(gesture_title(g) for g, _ in previous) if previous else "")

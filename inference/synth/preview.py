"""Contact sheet of an NYU-format sequence: per frame a depth crop and an RGB crop with the 14-joint skeleton."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from inference.core.skeleton import BONES, FINGER_COLOURS, JOINT_FINGER
from inference.formats.nyu_io import NyuSequence
from inference.preprocess.crop import crop_window
from inference.preprocess.crop_defaults import DEFAULT_CUBE_MM

TILE_PX = 192


def draw_skeleton(img_bgr: np.ndarray, uv: np.ndarray) -> None:
    for parent, child, finger in BONES:
        colour = FINGER_COLOURS[finger][::-1]
        p, c = uv[parent], uv[child]
        cv2.line(img_bgr, (int(p[0]), int(p[1])), (int(c[0]), int(c[1])), colour, 2, cv2.LINE_AA)
    for j, (u, v) in enumerate(uv):
        cv2.circle(img_bgr, (int(u), int(v)), 3, FINGER_COLOURS[JOINT_FINGER[j]][::-1], -1, cv2.LINE_AA)


def _tile(seq: NyuSequence, number: int) -> np.ndarray:
    """``(TILE_PX + 18, 2 * TILE_PX, 3)`` BGR: depth crop | RGB crop around the labelled hand, caption below."""
    frame = seq.frame(number)
    uvd = frame.joints_uvd
    depth = frame.depth_mm.astype(np.float32)
    centre = uvd[13] if uvd is not None else np.array([frame.intrinsics.cx, frame.intrinsics.cy, 800.0])
    u0, v0, u1, v1 = crop_window(centre, DEFAULT_CUBE_MM * 1.1, frame.intrinsics)
    scale = TILE_PX / (u1 - u0)
    affine = np.array([[scale, 0, -u0 * scale], [0, TILE_PX / (v1 - v0), -v0 * TILE_PX / (v1 - v0)]])
    valid = depth > 0
    near = float(np.percentile(depth[valid], 1)) if valid.any() else 0.0
    shade = np.where(valid, np.clip(255 - (depth - near) * (255 / 400.0), 40, 255), 0).astype(np.uint8)
    depth_vis = cv2.applyColorMap(shade, cv2.COLORMAP_BONE)
    depth_vis[~valid] = (60, 0, 0)  # invalid pixels dark blue
    tiles = []
    for img in (depth_vis, frame.color[..., ::-1] if frame.color is not None else depth_vis):
        crop = cv2.warpAffine(np.ascontiguousarray(img), affine, (TILE_PX, TILE_PX), flags=cv2.INTER_NEAREST)
        if uvd is not None:
            draw_skeleton(crop, uvd[:, :2] @ affine[:, :2].T + affine[:, 2])
        tiles.append(crop)
    tile = np.hstack(tiles)
    caption = np.zeros((18, tile.shape[1], 3), np.uint8)
    text = f"#{number} {frame.gesture or ''} d={centre[2]:.0f}mm"
    cv2.putText(caption, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return np.vstack([tile, caption])


def contact_sheet(root: str | Path, out_png: str | Path, max_frames: int = 16, columns: int = 4) -> Path:
    """Write a contact sheet of up to ``max_frames`` frames (evenly spaced) of the sequence in ``root``."""
    seq = NyuSequence(root)
    numbers = seq.frame_numbers
    picks = [numbers[int(i)] for i in np.linspace(0, len(numbers) - 1, min(max_frames, len(numbers)))]
    tiles = [_tile(seq, n) for n in picks]
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i:i + columns]) for i in range(0, len(tiles), columns)]
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), np.vstack(rows)):
        from inference.core.errors import HandposeError

        raise HandposeError(f"{out}: cannot write the preview image")
    return out

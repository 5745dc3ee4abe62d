"""A structured-light / active-stereo depth sensor model (Kinect 1 class, as NYU), and RGB camera effects.

Depth is measured as a disparity ``f * b / z``, so its error and quantisation grow with ``z^2``: at 750 mm
a 1/8 px disparity step is ~1.6 mm (NYU frames show 1-2 mm steps there). Pixels are lost where the
projector cannot see the surface (shadows beside foreground objects, on the side away from the projector),
along depth discontinuities (the correlation window straddles two surfaces), at grazing angles, in random
dropout blobs, and outside the working range. Invalid pixels are ``invalid_mm`` (0, the Frame convention).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inference.geometry import Intrinsics


@dataclass(frozen=True)
class SensorModel:
    """Sensor parameters; defaults are tuned toward NYU test frame 1 (see ``python -m inference.synth.realism``).

    Attributes:
        baseline_mm: projector-camera baseline (Kinect 1: 75 mm). Sets the shadow width and the z^2 error.
        disparity_step_px: disparity resolution (Kinect 1: 1/8 px); depth step = z^2 * step / (fx * b).
        noise_px: per-pixel disparity noise std (px).
        noise_corr_px: spatially correlated disparity noise std (px): the correlation window smooths errors
            into blobs of ``noise_corr_scale_px`` pixels.
        noise_corr_scale_px: size of those blobs (px).
        min_range_mm / max_range_mm: working range; outside it pixels are invalid.
        edge_jump_mm: a depth jump between 4-neighbours at least this large is a discontinuity.
        edge_drop_prob: probability that a discontinuity pixel (on either side) is lost, in 2x2 blocks.
        grazing_cos: surfaces whose normal makes |cos| below this with the viewing ray are lost.
        holes_per_mpx: mean number of random dropout blobs per megapixel of valid depth (dark / specular spots).
        hole_radius_px: (min, max) blob radius (px).
        shadows: compute projector shadows.
        invalid_mm: value of invalid pixels (0; NYU's own files use 2001, pass that to mimic them exactly).
        rgb_noise_std: RGB sensor noise std (8-bit levels).
        rgb_blur_sigma_px: RGB optical blur (Gaussian sigma, px).
        rgb_black_where_invalid: NYU's registered RGB is black where depth is missing; mimic that.
    """

    baseline_mm: float = 75.0
    disparity_step_px: float = 0.125
    noise_px: float = 0.035
    noise_corr_px: float = 0.04
    noise_corr_scale_px: int = 8
    min_range_mm: float = 300.0
    max_range_mm: float = 2000.0
    edge_jump_mm: float = 20.0
    edge_drop_prob: float = 0.15
    grazing_cos: float = 0.035
    holes_per_mpx: float = 1.0
    hole_radius_px: tuple[int, int] = (2, 5)
    shadows: bool = True
    invalid_mm: int = 0
    rgb_noise_std: float = 3.0
    rgb_blur_sigma_px: float = 0.7
    rgb_black_where_invalid: bool = True


def projector_shadow(depth_mm: np.ndarray, intr: Intrinsics, baseline_mm: float) -> np.ndarray:
    """``(H, W)`` bool, True where the projector (``baseline_mm`` to the camera's right) cannot see the surface.

    A point at column u maps to projector column ``u - fx b / z``; along a row the visible points are those
    whose projector column is smaller than that of every point to their right (nothing in front of them).
    """
    z = np.where(np.isfinite(depth_mm), depth_mm, 1e9).astype(np.float32)
    up = np.arange(z.shape[1], dtype=np.float32)[None, :] - np.float32(intr.fx * baseline_mm) / z
    # Minimum over the columns strictly to the right: reverse cumulative min, shifted by one.
    right_min = np.minimum.accumulate(up[:, ::-1], axis=1)[:, ::-1]
    shadow = np.zeros_like(z, dtype=bool)
    shadow[:, :-1] = up[:, :-1] >= right_min[:, 1:] - 0.5  # half a pixel: the projector's own resolution
    return shadow & np.isfinite(depth_mm)


def apply_depth_sensor(depth_mm: np.ndarray, view_cos: np.ndarray, intr: Intrinsics, sensor: SensorModel,
                       rng: np.random.Generator) -> np.ndarray:
    """Turn an ideal depth map into a sensor reading.

    Args:
        depth_mm: ``(H, W)`` float32 ideal depth, inf where there is no surface.
        view_cos: ``(H, W)`` |cos| between the viewing ray and the surface normal.
        intr: intrinsics; sensor: parameters; rng: randomness of this frame.

    Returns:
        ``(H, W)`` uint16 depth in mm, ``sensor.invalid_mm`` where invalid.
    """
    h, w = depth_mm.shape
    fb = np.float32(intr.fx * sensor.baseline_mm)
    valid = (depth_mm >= sensor.min_range_mm) & (depth_mm <= sensor.max_range_mm)  # inf fails the second test
    z = np.where(valid, depth_mm, np.float32(1e4))
    cv2.setRNGSeed(int(rng.integers(2**31)))
    noise = np.empty((h, w), np.float32)
    cv2.randn(noise, 0.0, sensor.noise_px)
    s = max(1, sensor.noise_corr_scale_px)
    coarse = np.empty((h // s + 2, w // s + 2), np.float32)
    cv2.randn(coarse, 0.0, sensor.noise_corr_px)
    noise += cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)[:h, :w]
    # Disparity, with noise, quantised to the sensor's sub-pixel step, back to depth.
    inv_step = np.float32(1.0 / sensor.disparity_step_px)
    steps = np.maximum(np.rint((fb / z + noise) * inv_step), 1.0)
    out = (fb * inv_step) / steps
    if sensor.shadows:
        valid &= ~projector_shadow(depth_mm, intr, sensor.baseline_mm)
    # Discontinuities (the 3x3 depth range exceeds the jump): lost in 2x2 blocks with some probability.
    if sensor.edge_drop_prob > 0:
        cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
        edge = (cv2.dilate(z, cross) - cv2.erode(z, cross)) >= sensor.edge_jump_mm
        blocks = np.empty(((h + 1) // 2, (w + 1) // 2), np.float32)
        cv2.randu(blocks, 0.0, 1.0)
        drop = cv2.resize((blocks < sensor.edge_drop_prob).view(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
        valid &= ~(edge & drop.astype(bool))
    if sensor.grazing_cos > 0:
        valid &= view_cos >= sensor.grazing_cos
    # Dropout blobs centred on random valid pixels (rejection sampling: cheaper than listing valid pixels).
    n_holes = rng.poisson(sensor.holes_per_mpx * h * w / 1e6)
    if n_holes:
        holes = np.zeros((h, w), np.uint8)
        for _ in range(n_holes):
            u, v = int(rng.integers(w)), int(rng.integers(h))
            if not valid[v, u]:
                continue
            r = int(rng.integers(sensor.hole_radius_px[0], sensor.hole_radius_px[1] + 1))
            axes = (r, max(1, int(r * rng.uniform(0.5, 1.0))))
            cv2.ellipse(holes, (u, v), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        valid &= holes == 0
    result = np.rint(out).astype(np.uint16)
    result[~valid] = sensor.invalid_mm
    return result


_noise_tiles: dict[float, tuple[np.ndarray, np.ndarray]] = {}


def _rgb_noise(shape: tuple[int, int, int], std: float) -> tuple[np.ndarray, np.ndarray]:
    """Positive and negative parts (uint8) of a fixed Gaussian noise tile larger than ``shape`` by 64 px."""
    key = (shape, std)
    if key not in _noise_tiles:
        rng = np.random.default_rng(777)
        noise = np.rint(rng.normal(0, std, (shape[0] + 64, shape[1] + 64, shape[2]))).astype(np.int16)
        _noise_tiles[key] = (np.clip(noise, 0, 255).astype(np.uint8), np.clip(-noise, 0, 255).astype(np.uint8))
    return _noise_tiles[key]


def apply_rgb_sensor(rgb: np.ndarray, depth_valid: np.ndarray, sensor: SensorModel,
                     rng: np.random.Generator) -> np.ndarray:
    """Blur + noise on an ideal ``(H, W, 3)`` uint8 RGB image; black where ``depth_valid`` is False (NYU).

    The noise is a random window of a fixed noise tile (fresh Gaussian noise per frame would cost more than
    the rest of the RGB pipeline); saturating uint8 adds keep it cheap.
    """
    h, w = rgb.shape[:2]
    out = rgb
    if sensor.rgb_blur_sigma_px > 0:
        out = cv2.GaussianBlur(out, (0, 0), sensor.rgb_blur_sigma_px)
    if sensor.rgb_noise_std > 0:
        pos, neg = _rgb_noise(rgb.shape, sensor.rgb_noise_std)
        y0, x0 = (int(c) for c in rng.integers(0, 64, 2))
        out = cv2.subtract(cv2.add(out, pos[y0:y0 + h, x0:x0 + w]), neg[y0:y0 + h, x0:x0 + w])
    if sensor.rgb_black_where_invalid:
        out = cv2.bitwise_and(out, out, mask=depth_valid.view(np.uint8))
    return out

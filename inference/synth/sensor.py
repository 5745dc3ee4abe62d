"""A structured-light / active-stereo depth sensor model (Kinect 1 class, as NYU), and RGB camera effects.

Depth is measured as a disparity ``f * b / z``, so its error and quantisation grow with ``z^2``: at 750 mm
a 1/8 px disparity step is ~1.6 mm (NYU frames show 1-2 mm steps there). Pixels are lost where the
projector cannot see the surface (shadows beside foreground objects, on the side away from the projector),
along depth discontinuities (the correlation window straddles two surfaces), at grazing angles, in random
dropout blobs, and outside the working range. Invalid pixels are ``invalid_mm`` (0, the Frame convention).

Optional artefacts (off in the default model, which keeps producing the same frames as before they existed):
the correlation window also *fattens* foreground edges (a background pixel beside a nearer surface reads the
nearer depth), *flying pixels* read a depth between the two surfaces of a discontinuity, and a filtering
sensor (SR305) smooths its output edge-preservingly. :data:`SENSORS` names the models ``handpose synth
--sensor`` offers; the name and every parameter are recorded in ``subjects.json``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inference.core.geometry import Intrinsics


@dataclass(frozen=True)
class SensorModel:
    """Sensor parameters; defaults are tuned toward NYU test frame 1 (see ``python scripts/synth_realism.py``).

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
        edge_fatten_px: at a discontinuity, a pixel up to this far from a nearer surface may read that surface's
            depth (the correlation window's foreground fattening); 0 = off.
        edge_fatten_prob: probability that such a pixel does (ragged silhouettes, as NYU's).
        flying_prob: probability that a discontinuity pixel reads a depth uniformly between its 3x3
            neighbourhood's nearest and farthest surface (a flying pixel); 0 = off.
        smooth_sigma_mm: edge-preserving (bilateral) smoothing of the output, range sigma in mm; 0 = off.
        smooth_px: the smoothing's spatial window (px).
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
    edge_fatten_px: int = 0
    edge_fatten_prob: float = 0.5
    flying_prob: float = 0.0
    smooth_sigma_mm: float = 0.0
    smooth_px: int = 5


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
    if sensor.edge_fatten_px > 0 or sensor.flying_prob > 0 or sensor.smooth_sigma_mm > 0:
        out, valid = _edge_artefacts(np.where(valid, out, np.float32(1e4)).astype(np.float32), valid, z, sensor, rng)
    result = np.rint(out).astype(np.uint16)
    result[~valid] = sensor.invalid_mm
    return result


def _edge_artefacts(reading: np.ndarray, valid: np.ndarray, ideal: np.ndarray, sensor: SensorModel,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Foreground fattening, flying pixels and smoothing on a reading (``1e4`` where invalid).

    ``ideal`` is the true depth (``1e4`` where there is no surface in range): flying pixels mix the surfaces
    the measurement straddles, whether or not the farther one would read valid on its own (behind a hand it is
    often in the projector's shadow or out of range). Returns the new reading and validity. Draws from ``rng``
    only for the artefacts switched on.
    """
    h, w = reading.shape
    far = np.float32(1e4)
    if sensor.edge_fatten_px > 0:
        # Per pixel a random reach 1..edge_fatten_px: the nearest reading within it wins when it is nearer by a
        # discontinuity and a coin with edge_fatten_prob says so.
        reach = rng.integers(1, sensor.edge_fatten_px + 1, size=(h, w))
        coin = rng.random((h, w)) < sensor.edge_fatten_prob
        for r in range(1, sensor.edge_fatten_px + 1):
            near = cv2.erode(reading, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
            take = coin & (reach == r) & (near < far) & (reading - near >= sensor.edge_jump_mm)
            reading = np.where(take, near, reading)
            valid = valid | take
    if sensor.flying_prob > 0:
        box = np.ones((3, 3), np.uint8)
        lo, hi = cv2.erode(ideal, box), cv2.dilate(ideal, box)
        hi = np.minimum(hi, lo + np.float32(FLYING_SPREAD_MM))  # nothing behind in range: mixed with "far"
        edge = (hi - lo >= sensor.edge_jump_mm) & (lo < far)
        t = rng.random((h, w)).astype(np.float32)
        fly = edge & (rng.random((h, w)) < sensor.flying_prob)
        fly &= (lo + t * (hi - lo) <= sensor.max_range_mm)
        reading = np.where(fly, lo + t * (hi - lo), reading)
        valid = valid | fly
    if sensor.smooth_sigma_mm > 0:
        smooth = cv2.bilateralFilter(reading, sensor.smooth_px, sensor.smooth_sigma_mm, sensor.smooth_px / 2)
        reading = np.where(valid, smooth, reading)
    return reading, valid


FLYING_SPREAD_MM = 400.0  # the farthest a flying pixel reads behind the near surface when nothing is behind in range

# Sensor models by name (``handpose synth --sensor``). "kinect" is the default and the generator's original
# model: it keeps producing byte-identical frames for a seed (tests/synth/test_generator_stability.py). The others
# were set against the statistics of the real frames (``python scripts/synth_realism.py --sensor ...``,
# docs/synth_realism.md). Neither real sensor shows flying pixels (isolated readings between surfaces: 0.1% and
# 0% of the outline's pixels), so no preset adds them; ``flying_prob`` is there for sensors that do (ToF).
SENSORS: dict[str, SensorModel] = {
    "kinect": SensorModel(),
    # Kinect with the correlation window's foreground fattening (fingers ~1 px wider, as on NYU) and fewer lost
    # edge pixels: smoother outlines and fewer holes, closer to NYU frame 1 than the default.
    "kinect-edges": SensorModel(edge_drop_prob=0.08, edge_fatten_px=1, edge_fatten_prob=0.6),
    # RealSense SR305 (coded light, filtered output): finer disparity steps, low noise smoothed edge-preservingly,
    # fattened edges, fewer holes, range up to 1.5 m (82% of the real frames is invalid).
    "sr305": SensorModel(disparity_step_px=0.03125, noise_px=0.02, noise_corr_px=0.02, max_range_mm=1500.0,
                         edge_drop_prob=0.05, holes_per_mpx=0.5, edge_fatten_px=1, edge_fatten_prob=0.8,
                         smooth_sigma_mm=4.0, smooth_px=5),
}


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

"""Ray casting of smooth primitives (capsules, ellipsoids, planes) into a depth map, and RGB shading.

Every pixel's ray is ``t * (a_u, b_v, 1)`` with ``a_u = (u - cx) / fx`` and ``b_v = (cy - v) / fy`` (NYU
axes, y up), so the ray parameter ``t`` is the depth z in mm. Each primitive is intersected analytically
(exact quadric surfaces: no facets at any scale) inside its own projected bounding box only, and a
z-buffer keeps the nearest hit with its part id.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inference.core.geometry import Intrinsics

_NEAR_MM = 10.0


@dataclass
class Rays:
    """Per-column ``a (W,)`` and per-row ``b (H,)`` ray slopes of a camera."""

    intr: Intrinsics
    a: np.ndarray
    b: np.ndarray

    @classmethod
    def of(cls, intr: Intrinsics) -> Rays:
        a = ((np.arange(intr.width) - intr.cx) / intr.fx).astype(np.float32)
        b = ((intr.cy - np.arange(intr.height)) / intr.fy).astype(np.float32)
        return cls(intr, a, b)


class DepthBuffer:
    """A z-buffer ``depth (H, W)`` float32 mm (inf = no surface) with ``part (H, W)`` uint8 ids (0 = none)."""

    def __init__(self, rays: Rays) -> None:
        self.rays = rays
        h, w = rays.intr.height, rays.intr.width
        self.depth = np.full((h, w), np.inf, np.float32)
        self.part = np.zeros((h, w), np.uint8)

    def _bbox(self, lo: np.ndarray, hi: np.ndarray) -> tuple[int, int, int, int] | None:
        """Conservative pixel box ``(u0, v0, u1, v1)`` (exclusive ends) of the camera-space box ``[lo, hi]`` (mm)."""
        intr = self.rays.intr
        if hi[2] < _NEAR_MM:
            return None
        if lo[2] < _NEAR_MM:  # straddles the camera plane: the whole image
            return 0, 0, intr.width, intr.height
        us = [intr.cx + intr.fx * x / z for x in (lo[0], hi[0]) for z in (lo[2], hi[2])]
        vs = [intr.cy - intr.fy * y / z for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]
        u0, u1 = max(int(np.floor(min(us))), 0), min(int(np.ceil(max(us))) + 1, intr.width)
        v0, v1 = max(int(np.floor(min(vs))), 0), min(int(np.ceil(max(vs))) + 1, intr.height)
        if u1 <= u0 or v1 <= v0:
            return None
        return u0, v0, u1, v1

    def upsampled(self, rays: Rays) -> DepthBuffer:
        """A buffer on the finer grid ``rays`` holding this one's contents (nearest neighbour)."""
        out = DepthBuffer(rays)
        size = (rays.intr.width, rays.intr.height)
        out.depth = cv2.resize(self.depth, size, interpolation=cv2.INTER_NEAREST)
        out.part = cv2.resize(self.part, size, interpolation=cv2.INTER_NEAREST)
        return out

    def _merge(self, box: tuple[int, int, int, int], t: np.ndarray, part: int) -> None:
        u0, v0, u1, v1 = box
        view = self.depth[v0:v1, u0:u1]
        nearer = t < view
        view[nearer] = t[nearer]
        self.part[v0:v1, u0:u1][nearer] = part

    def _grid(self, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
        u0, v0, u1, v1 = box
        return self.rays.a[None, u0:u1], self.rays.b[v0:v1, None]

    def capsule(self, p0: np.ndarray, p1: np.ndarray, radius: float, part: int) -> None:
        """A capsule (cylinder with hemispherical caps) from ``p0`` to ``p1`` (mm) of ``radius`` mm."""
        p0, p1 = np.asarray(p0, np.float64), np.asarray(p1, np.float64)
        box = self._bbox(np.minimum(p0, p1) - radius, np.maximum(p0, p1) + radius)
        if box is None:
            return
        a, b = self._grid(box)
        ba = p1 - p0
        baba = float(ba @ ba)
        baoa = float(-ba @ p0)
        oaoa = float(p0 @ p0)
        rr = radius * radius
        rdrd = a * a + b * b + 1.0
        bard = ba[0] * a + ba[1] * b + ba[2]
        rdoa = -(p0[0] * a + p0[1] * b + p0[2])
        k2 = baba * rdrd - bard * bard
        k1 = baba * rdoa - baoa * bard
        k0 = baba * oaoa - baoa * baoa - rr * baba
        h = k1 * k1 - k2 * k0
        hit = h > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            t = (-k1 - np.sqrt(np.where(hit, h, 0.0))) / k2
            y = baoa + t * bard
            # Outside the segment the first hit is on the cap sphere at that end.
            cap_end = y > baba
            cx = np.where(cap_end, p1[0], p0[0])
            cy = np.where(cap_end, p1[1], p0[1])
            cz = np.where(cap_end, p1[2], p0[2])
            bc = -(cx * a + cy * b + cz)
            cc = cx * cx + cy * cy + cz * cz - rr
            hc = bc * bc - rdrd * cc
            t_cap = (-bc - np.sqrt(np.maximum(hc, 0.0))) / rdrd
        body = (y > 0) & (y < baba)
        t = np.where(body, t, np.where(hc > 0, t_cap, np.inf))
        t = np.where(hit & (t > _NEAR_MM), t, np.inf).astype(np.float32)
        self._merge(box, t, part)

    def ellipsoid(self, row: np.ndarray, part: int) -> None:
        """An ellipsoid given as ``(centre xyz, A row-major 3x3)``: inside where ``|A (p - centre)| <= 1``."""
        c = np.asarray(row[:3], np.float64)
        amat = np.asarray(row[3:12], np.float64).reshape(3, 3)
        # Axis-aligned extent of the ellipsoid: row norms of A^-1 (its scaled axes).
        extent = np.sqrt((np.linalg.inv(amat) ** 2).sum(axis=1))
        box = self._bbox(c - extent, c + extent)
        if box is None:
            return
        a, b = self._grid(box)
        n = amat @ c
        # With m = A d (d the ray), |t m - n|^2 = 1 is a quadratic in t; expand m.m and m.n in a, b directly.
        g = amat.T @ amat
        gn = amat.T @ n
        mm = g[0, 0] * a * a + g[1, 1] * b * b + g[2, 2] + 2 * (g[0, 1] * a * b + g[0, 2] * a + g[1, 2] * b)
        mn = gn[0] * a + gn[1] * b + gn[2]
        h = mn * mn - mm * (float(n @ n) - 1.0)
        with np.errstate(invalid="ignore"):
            t = (mn - np.sqrt(h)) / mm
        t = np.where((h > 0) & (t > _NEAR_MM), t, np.inf).astype(np.float32)
        self._merge(box, t, part)

    def plane(self, normal: np.ndarray, offset_mm: float, part: int, min_z_mm: float = 0.0) -> None:
        """The plane ``normal . p = offset_mm`` over the whole image, only where its depth is >= ``min_z_mm``."""
        h, w = self.depth.shape
        a, b = self._grid((0, 0, w, h))
        nd = normal[0] * a + normal[1] * b + normal[2]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (offset_mm / nd).astype(np.float32)
        t[~(t >= max(min_z_mm, _NEAR_MM))] = np.inf
        self._merge((0, 0, w, h), t, part)


def surface_normals(depth_mm: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """Unit normals ``(H, W, 3)`` float32 (camera axes, y up, facing the camera: n_z < 0) of a depth map.

    ``depth_mm`` is float32 with inf where there is no surface (treated as far away).
    """
    z = np.where(np.isfinite(depth_mm), depth_mm, 1e5).astype(np.float32)
    dz_du = cv2.Sobel(z, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
    dz_dv = cv2.Sobel(z, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
    # dz/dx = dz/du * fx / z, dz/dy = -dz/dv * fy / z (y up); normal ~ (dz/dx, dz/dy, -1).
    inv = 1.0 / np.maximum(z, 1.0)
    n = np.empty((*z.shape, 3), np.float32)
    n[..., 0] = dz_du * (intr.fx * inv)
    n[..., 1] = -dz_dv * (intr.fy * inv)
    n[..., 2] = -1.0
    n /= np.sqrt((n * n).sum(axis=2, keepdims=True))
    return n


def view_cosine(normals: np.ndarray, rays: Rays) -> np.ndarray:
    """``(H, W)`` float32 |cos| of the angle between each pixel's ray and the surface normal (1 = facing)."""
    a, b = rays.a[None, :], rays.b[:, None]
    dot = normals[..., 0] * a + normals[..., 1] * b + normals[..., 2]
    return np.abs(dot) / np.sqrt(a * a + b * b + 1.0)


_TEXTURE_SIZE = 1024
_texture_cache: dict[int, np.ndarray] = {}


def _texture() -> np.ndarray:
    """A fixed ``(1024, 1024)`` float32 multiplicative texture (~1 +- 0.07): blotches plus fine grain."""
    if 0 not in _texture_cache:
        rng = np.random.default_rng(12345)
        tex = np.zeros((_TEXTURE_SIZE, _TEXTURE_SIZE), np.float32)
        for cells, amp in ((8, 0.05), (32, 0.03), (128, 0.02)):
            coarse = rng.normal(0, amp, (cells, cells)).astype(np.float32)
            tex += cv2.resize(coarse, (_TEXTURE_SIZE, _TEXTURE_SIZE), interpolation=cv2.INTER_CUBIC)
        _texture_cache[0] = 1.0 + tex
    return _texture_cache[0]


def shade_rgb(depth_mm: np.ndarray, part: np.ndarray, normals: np.ndarray, albedo: np.ndarray,
              rng: np.random.Generator) -> np.ndarray:
    """Registered RGB ``(H, W, 3)`` uint8: per-part albedo x (ambient + Lambert) x texture, light near the camera.

    Args:
        depth_mm: ``(h, w)`` ideal depth (inf = nothing: left black), at the resolution of ``normals``.
        part: ``(H, W)`` uint8 part ids at full resolution; albedo: ``(parts, 3)`` RGB 0-255 per part.
        normals: ``(h, w, 3)`` unit normals facing the camera, at full or a lower resolution (shading is
            smooth, so it is upsampled; part edges stay sharp because albedo is looked up at full resolution).
    """
    height, width = part.shape
    h, w = normals.shape[:2]
    light = np.array([rng.normal(-0.3, 0.2), rng.normal(0.5, 0.2), -1.0], np.float32)
    light /= np.linalg.norm(light)
    lambert = np.maximum(normals @ light, 0.0)
    # Light falls off with distance from the (near-camera) lamp: brighter near objects, as with a flash.
    z = np.where(np.isfinite(depth_mm), depth_mm, 5000.0).astype(np.float32)
    falloff = np.clip(cv2.pow(900.0 / np.maximum(z, 300.0), 0.6), 0.35, 1.3)
    ambient = np.float32(rng.uniform(0.25, 0.4))
    y0, x0 = (int(c) for c in rng.integers(0, _TEXTURE_SIZE - max(h, w), 2))
    tex = _texture()[y0:y0 + h, x0:x0 + w]
    intensity = ((ambient + (1.0 - ambient) * lambert) * falloff * tex).astype(np.float32)
    if (h, w) != (height, width):
        intensity = cv2.resize(intensity, (width, height), interpolation=cv2.INTER_LINEAR)
    lut = np.clip(albedo, 0, 255).astype(np.uint8)
    lut[0] = 0
    channels = []
    for c in range(3):
        table = np.zeros(256, np.uint8)
        table[: len(lut)] = lut[:, c]
        albedo_c = cv2.LUT(part, table)
        channels.append(cv2.multiply(albedo_c, intensity, dtype=cv2.CV_8U))
    return cv2.merge(channels)

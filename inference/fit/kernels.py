"""Compiled inner loops of the fit (numba): point-to-surface distances and the silhouette and free-space tests.

Each is a plain loop over points and primitives; numpy would spend its time on call overhead for arrays this small
(a few hundred points, two dozen primitives), and the fit runs them about ten times a frame. Compiled on first use
and cached beside this module.

Primitive layout, shared with :mod:`inference.fit.model`: capsules ``(C, 7)`` rows ``(p0, p1, radius)``;
ellipsoids as centres ``(E, 3)``, unit axes as rows ``(E, 3, 3)`` and semi-axis lengths ``(E, 3)``; every
primitive index runs over the capsules first, then the ellipsoids. Camera: NYU axes, ``u = cx + fx x / z``,
``v = cy - fy y / z``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_NEWTON_STEPS = 16


@njit(cache=True, nogil=True)
def closest(x, caps, centres, axes, semi):  # pragma: no cover - compiled; tested through fit.surface
    """For points ``x (N, 3)``: signed distance to the nearest primitive ``(N,)``, the outward unit normal at the
    closest point ``(N, 3)`` and that primitive's index ``(N,)``.

    A primitive is measured exactly only when a cheap bound says it may beat the best so far: a capsule when its
    squared axis distance is below ``(best + radius)^2`` (no square root otherwise), an ellipsoid when both its
    bounding sphere and its scaled bound come closer than the best. The scaled bound: ``y -> y / semi`` maps the
    ellipsoid to the unit sphere and scales distances by ``1 / max semi`` to ``1 / min semi``, so a point at
    ``q = |y / semi|`` lies at least ``min semi * (q - 1)`` outside it, or at most ``max semi * (1 - q)`` inside.
    """
    n, n_caps, n_ells = x.shape[0], caps.shape[0], centres.shape[0]
    dist = np.empty(n)
    normal = np.empty((n, 3))
    prim = np.empty(n, np.int64)
    seg = np.empty((n_caps, 4))  # each capsule's axis vector and its squared length
    for c in range(n_caps):
        sx, sy, sz = caps[c, 3] - caps[c, 0], caps[c, 4] - caps[c, 1], caps[c, 5] - caps[c, 2]
        seg[c, 0], seg[c, 1], seg[c, 2], seg[c, 3] = sx, sy, sz, max(sx * sx + sy * sy + sz * sz, 1e-12)
    s_min = np.empty(n_ells)
    s_max = np.empty(n_ells)
    for e in range(n_ells):
        s_min[e] = min(semi[e, 0], min(semi[e, 1], semi[e, 2]))
        s_max[e] = max(semi[e, 0], max(semi[e, 1], semi[e, 2]))
    y = np.empty(3)
    for i in range(n):
        best = np.inf
        for c in range(n_caps):
            sx, sy, sz, len2 = seg[c, 0], seg[c, 1], seg[c, 2], seg[c, 3]
            rx, ry, rz = x[i, 0] - caps[c, 0], x[i, 1] - caps[c, 1], x[i, 2] - caps[c, 2]
            t = min(max((rx * sx + ry * sy + rz * sz) / len2, 0.0), 1.0)
            ox, oy, oz = rx - t * sx, ry - t * sy, rz - t * sz
            olen2 = ox * ox + oy * oy + oz * oz
            reach = best + caps[c, 6]  # the capsule wins only if its axis is nearer than this
            if reach <= 0.0 or olen2 >= reach * reach:
                continue
            olen = np.sqrt(olen2)
            d = olen - caps[c, 6]
            if d < best:
                best = d
                prim[i] = c
                if olen > 1e-9:
                    normal[i, 0], normal[i, 1], normal[i, 2] = ox / olen, oy / olen, oz / olen
                else:  # on the axis itself: any normal to it will do; take the camera's -z
                    normal[i, 0], normal[i, 1], normal[i, 2] = 0.0, 0.0, -1.0
        for e in range(n_ells):
            for k in range(3):
                y[k] = (axes[e, k, 0] * (x[i, 0] - centres[e, 0]) + axes[e, k, 1] * (x[i, 1] - centres[e, 1])
                        + axes[e, k, 2] * (x[i, 2] - centres[e, 2]))
            if np.sqrt(y[0] * y[0] + y[1] * y[1] + y[2] * y[2]) - s_max[e] >= best:
                continue  # even the bounding sphere is farther than the best so far
            q = np.sqrt((y[0] / semi[e, 0]) ** 2 + (y[1] / semi[e, 1]) ** 2 + (y[2] / semi[e, 2]) ** 2)
            if (s_min[e] if q >= 1.0 else s_max[e]) * (q - 1.0) >= best:
                continue
            d, nx, ny, nz = ellipsoid_distance(y, semi[e])
            if d < best:
                best = d
                prim[i] = n_caps + e
                normal[i, 0] = axes[e, 0, 0] * nx + axes[e, 1, 0] * ny + axes[e, 2, 0] * nz
                normal[i, 1] = axes[e, 0, 1] * nx + axes[e, 1, 1] * ny + axes[e, 2, 1] * nz
                normal[i, 2] = axes[e, 0, 2] * nx + axes[e, 1, 2] * ny + axes[e, 2, 2] * nz
        dist[i] = best
    return dist, normal, prim


@njit(cache=True, nogil=True)
def ellipsoid_distance(y, semi):  # pragma: no cover - compiled
    """Signed distance from local point ``y (3,)`` to the axis-aligned ellipsoid of ``semi (3,)`` and the outward
    unit normal (local axes) at the closest point. Closest point ``z_k = s_k^2 y_k / (t + s_k^2)`` with
    ``F(t) = sum (s_k y_k / (t + s_k^2))^2 - 1 = 0``; F is convex and decreasing for ``t > -min s^2``, so Newton
    from a point where ``F >= 0`` climbs monotonically to the root (Eberly's closest point on an ellipsoid)."""
    k_min = 0
    for k in range(1, 3):
        if semi[k] < semi[k_min]:
            k_min = k
    inside = (y[0] / semi[0]) ** 2 + (y[1] / semi[1]) ** 2 + (y[2] / semi[2]) ** 2 < 1.0
    lo = -semi[k_min] ** 2
    t = lo + semi[k_min] * abs(y[k_min])
    for _ in range(_NEWTON_STEPS):
        f, df = -1.0, 0.0
        for k in range(3):
            den = max(t + semi[k] ** 2, 1e-9)
            r = (semi[k] * y[k] / den) ** 2
            f += r
            df -= 2.0 * r / den
        step = f / min(df, -1e-12)
        t = max(t - step, lo)  # the root lies right of -min s^2; a point on the shortest axis' plane has none
        if abs(step) < 1e-9 * (1.0 + abs(t)):
            break
    z = np.empty(3)
    if t - lo < 1e-9 * (1.0 + abs(lo)):
        # Degenerate (an inside point on the plane of the shortest axis): the closest point lies off that plane,
        # z_k = s_k^2 y_k / (s_k^2 - min s^2) for the other axes, the shortest one completing the surface.
        rest = 0.0
        for k in range(3):
            if k != k_min:
                z[k] = semi[k] ** 2 * y[k] / max(semi[k] ** 2 + lo, 1e-9)
                rest += (z[k] / semi[k]) ** 2
        z[k_min] = semi[k_min] * np.sqrt(max(1.0 - rest, 0.0)) * (1.0 if y[k_min] >= 0.0 else -1.0)
    else:
        for k in range(3):
            z[k] = semi[k] ** 2 * y[k] / (t + semi[k] ** 2)
    dd, nx, ny, nz = 0.0, 0.0, 0.0, 0.0
    for k in range(3):
        dd += (y[k] - z[k]) ** 2
        g = z[k] / semi[k] ** 2  # the gradient of sum (z / s)^2: outward, defined even on the surface
        if k == 0:
            nx = g
        elif k == 1:
            ny = g
        else:
            nz = g
    nn = max(np.sqrt(nx * nx + ny * ny + nz * nz), 1e-12)
    d = np.sqrt(dd)
    return (-d if inside else d), nx / nn, ny / nn, nz / nn


@njit(cache=True, nogil=True)
def _depth_at(depth, u, v):  # pragma: no cover - compiled
    """Observed depth (mm) at the pixel nearest ``(u, v)``; -1 outside the image, 0 where invalid."""
    ui, vi = int(np.floor(u + 0.5)), int(np.floor(v + 0.5))
    if ui < 0 or vi < 0 or ui >= depth.shape[1] or vi >= depth.shape[0]:
        return -1.0
    return float(depth[vi, ui])


@njit(cache=True, nogil=True)
def silhouette(points, dist_map, grad_u, grad_v, u0, v0, step, fx, fy, cx, cy, depth,
               margin_mm):  # pragma: no cover - compiled
    """Model points ``(M, 3)`` projecting outside the silhouette: a mask ``(M,)``, their distance to it in mm
    ``(M,)`` and the direction ``(M, 3)`` in which moving a point increases that distance.

    The distance map's cell ``(i, j)`` sits at image pixel ``(u0 + j step, v0 + i step)`` and holds distances in
    cells; beyond its edge, and beyond the image's, nothing was looked at: no constraint. A pixel whose observed
    surface lies in front of the model point or less than ``margin_mm`` behind it explains the point (an occluder,
    or the arm beyond the cube's depth range, which the silhouette leaves out): no constraint there either (the
    free-space test's complement).
    """
    m = points.shape[0]
    use = np.zeros(m, np.bool_)
    res = np.zeros(m)
    dirs = np.zeros((m, 3))
    h, w = dist_map.shape
    for k in range(m):
        x, y, z = points[k, 0], points[k, 1], max(points[k, 2], 1.0)
        u, v = cx + fx * x / z, cy - fy * y / z
        seen = _depth_at(depth, u, v)
        if seen < 0.0 or (seen > 0.0 and seen <= z + margin_mm):
            continue
        ic, jc = int(np.floor((v - v0) / step + 0.5)), int(np.floor((u - u0) / step + 0.5))
        if ic < 0 or jc < 0 or ic >= h or jc >= w:
            continue
        dist_px = dist_map[ic, jc] * step
        if dist_px <= 0.5:
            continue
        gu, gv = grad_u[ic, jc], grad_v[ic, jc]
        # distance (mm) = distance (px) * z / fx; its gradient through u(p), v(p)
        use[k] = True
        res[k] = dist_px * z / fx
        dirs[k, 0] = gu
        dirs[k, 1] = -gv * fy / fx
        dirs[k, 2] = (-gu * fx * x + gv * fy * y) / (fx * z)
    return use, res, dirs


@njit(cache=True, nogil=True)
def free_space(points, depth, fx, fy, cx, cy, margin_mm, observed):  # pragma: no cover - compiled
    """Camera-facing model points ``(M, 3)`` where the camera sees empty space (nothing at their pixel, or an
    observed surface ``margin_mm`` behind them): a mask ``(M,)``, the distance to the nearest observed point
    ``(M,)`` and the unit direction away from it ``(M, 3)``."""
    m, n = points.shape[0], observed.shape[0]
    use = np.zeros(m, np.bool_)
    res = np.zeros(m)
    dirs = np.zeros((m, 3))
    for k in range(m):
        x, y, z = points[k, 0], points[k, 1], max(points[k, 2], 1.0)
        seen = _depth_at(depth, cx + fx * x / z, cy - fy * y / z)
        if seen < 0.0 or (seen > 0.0 and seen <= z + margin_mm):
            continue  # outside the image, or the camera sees a surface at (or in front of) the model point
        best, bi = np.inf, -1
        for i in range(n):
            d2 = (x - observed[i, 0]) ** 2 + (y - observed[i, 1]) ** 2 + (points[k, 2] - observed[i, 2]) ** 2
            if d2 < best:
                best, bi = d2, i
        if bi < 0:
            continue
        d = max(np.sqrt(best), 1e-9)
        use[k] = True
        res[k] = d
        dirs[k, 0] = (x - observed[bi, 0]) / d
        dirs[k, 1] = (y - observed[bi, 1]) / d
        dirs[k, 2] = (points[k, 2] - observed[bi, 2]) / d
    return use, res, dirs


@njit(cache=True, nogil=True)
def _row(out, k, px, py, pz, vx, vy, vz, chain, gen_axes, gen_moments, dof_weights, tx, ty, tz, with_scale):
    """Jacobian row ``k`` of the residual ``v . p`` for a point ``p`` moving with the model (see fit.model):
    rotation ``(p - t) x v``, translation ``v``, angles ``sum_g chain_g w[g, :] (a_g . (p x v) - v . m_g)``,
    ``log(scale)`` ``v . (p - t)``."""  # pragma: no cover - compiled
    rx, ry, rz = px - tx, py - ty, pz - tz
    out[k, 0] = ry * vz - rz * vy
    out[k, 1] = rz * vx - rx * vz
    out[k, 2] = rx * vy - ry * vx
    out[k, 3], out[k, 4], out[k, 5] = vx, vy, vz
    cx, cy, cz = py * vz - pz * vy, pz * vx - px * vz, px * vy - py * vx  # p x v
    n_dof = dof_weights.shape[1]
    for j in range(n_dof):
        out[k, 6 + j] = 0.0
    for g in range(gen_axes.shape[0]):
        if chain[g]:
            val = (gen_axes[g, 0] * cx + gen_axes[g, 1] * cy + gen_axes[g, 2] * cz
                   - (vx * gen_moments[g, 0] + vy * gen_moments[g, 1] + vz * gen_moments[g, 2]))
            for j in range(n_dof):
                out[k, 6 + j] += val * dof_weights[g, j]
    out[k, 6 + n_dof] = vx * rx + vy * ry + vz * rz if with_scale else 0.0


@njit(cache=True, nogil=True)
def assemble(obs_points, caps, ell_centres, ell_axes, ell_semi, prim_chains, axis_chains, fractions,
             joints14, joint_chains14, targets14, prior_weights14, dist_map, grad_u, grad_v, map_u0, map_v0,
             map_step, fx, fy, cx, cy, depth, gen_axes, gen_moments, dof_weights, translation, with_scale,
             w_data, c2, w_silhouette, w_free, w_prior, margin_mm,
             lm_points, lm_chains, lm_uv, lm_weights, lm_mm_per_px, w_landmarks, lm_c2, terms):  # pragma: no cover
    """Every residual of the fit's energy and its Jacobian row, in one pass (see fit.solver for the terms).

    ``terms``: bit 1 data, 2 silhouette, 4 free space, 8 prior (per joint weighted by ``prior_weights14``), 16
    landmarks (a term whose bit is clear, or whose weight is 0, is left out); bit 32: the energy only (the Jacobian rows
    are not filled: what an energy comparison needs, at about half the cost). The landmark term: model points
    ``lm_points (L, 3)`` (moved by ``lm_chains (L, G)``) projected into the image against targets ``lm_uv (L, 2)``
    (px), each residual in mm as ``lm_mm_per_px (L,)`` (a constant per point: the Jacobian is exact) times the
    pixel offset, robust (Cauchy at ``sqrt(lm_c2)`` mm on the 2-D offset) and weighted by ``lm_weights (L,)``.
    Returns ``J (K, U)``, residuals ``(K,)``, weights ``(K,)``, the energy of these terms, the mean
    |point-to-surface distance| and the RMS distance of the points on camera-facing surface.
    """
    n_obs = obs_points.shape[0]
    n_caps, n_ells = caps.shape[0], ell_centres.shape[0]
    n_frac = fractions.shape[0]
    n_axis = n_caps * n_frac + n_ells
    n_unknowns = 7 + dof_weights.shape[1]
    cap_rows = n_obs + 2 * n_axis + 3 * joints14.shape[0] + 2 * lm_points.shape[0]
    jac = np.empty((cap_rows, n_unknowns))
    res = np.empty(cap_rows)
    wts = np.empty(cap_rows)
    tx, ty, tz = translation[0], translation[1], translation[2]
    rows = (terms & 32) == 0
    k = 0
    energy = 0.0
    mean_abs = 0.0
    sq = 0.0
    n_vis = 0
    if (terms & 1) and w_data > 0.0 and n_obs > 0:
        dist, normal, prim = closest(obs_points, caps, ell_centres, ell_axes, ell_semi)
        for i in range(n_obs):
            d = dist[i]
            mean_abs += abs(d)
            sx, sy, sz = (obs_points[i, 0] - d * normal[i, 0], obs_points[i, 1] - d * normal[i, 1],
                          obs_points[i, 2] - d * normal[i, 2])
            # a seen point lies on a camera-facing surface: leave out matches on the far side of a part
            view = (normal[i, 0] * sx + normal[i, 1] * sy + normal[i, 2] * sz) / np.sqrt(sx * sx + sy * sy + sz * sz)
            if view >= 0.2:
                continue
            n_vis += 1
            sq += d * d
            # Cauchy: rho(d) = c^2 log(1 + (d/c)^2); its gradient 2 d / (1 + (d/c)^2) gives the IRLS weight
            if rows:
                _row(jac, k, sx, sy, sz, -normal[i, 0], -normal[i, 1], -normal[i, 2], prim_chains[prim[i]], gen_axes,
                     gen_moments, dof_weights, tx, ty, tz, with_scale)
            res[k] = d
            wts[k] = w_data / n_obs / (1.0 + d * d / c2)
            energy += w_data / n_obs * c2 * np.log1p(d * d / c2)
            k += 1
        mean_abs /= n_obs
    if ((terms & 2) and w_silhouette > 0.0) or ((terms & 4) and w_free > 0.0):
        axis = np.empty((n_axis, 3))
        front = np.empty((n_axis, 3))
        for c in range(n_caps):
            for f in range(n_frac):
                a = c * n_frac + f
                for j in range(3):
                    axis[a, j] = caps[c, j] * (1.0 - fractions[f]) + caps[c, 3 + j] * fractions[f]
                norm = np.sqrt(axis[a, 0] ** 2 + axis[a, 1] ** 2 + axis[a, 2] ** 2)
                for j in range(3):  # toward the camera (at the origin) by the radius
                    front[a, j] = axis[a, j] - axis[a, j] / norm * caps[c, 6]
        for e in range(n_ells):
            a = n_caps * n_frac + e
            norm = np.sqrt(ell_centres[e, 0] ** 2 + ell_centres[e, 1] ** 2 + ell_centres[e, 2] ** 2)
            reach2 = 0.0
            for j in range(3):
                axis[a, j] = ell_centres[e, j]
                proj = -(ell_axes[e, j, 0] * ell_centres[e, 0] + ell_axes[e, j, 1] * ell_centres[e, 1]
                         + ell_axes[e, j, 2] * ell_centres[e, 2]) / norm
                reach2 += (proj / ell_semi[e, j]) ** 2
            reach = 1.0 / np.sqrt(reach2)  # |A (c + t v) - A c| = 1 along the line of sight v
            for j in range(3):
                front[a, j] = ell_centres[e, j] - ell_centres[e, j] / norm * reach
        if (terms & 2) and w_silhouette > 0.0:
            use, r, g = silhouette(axis, dist_map, grad_u, grad_v, map_u0, map_v0, map_step, fx, fy, cx, cy, depth,
                                   margin_mm)
            scale = w_silhouette / n_axis
            for a in range(n_axis):
                if use[a]:
                    if rows:
                        _row(jac, k, axis[a, 0], axis[a, 1], axis[a, 2], g[a, 0], g[a, 1], g[a, 2], axis_chains[a],
                             gen_axes, gen_moments, dof_weights, tx, ty, tz, with_scale)
                    res[k], wts[k] = r[a], scale
                    energy += scale * r[a] * r[a]
                    k += 1
        if (terms & 4) and w_free > 0.0:
            use, r, g = free_space(front, depth, fx, fy, cx, cy, margin_mm, obs_points)
            scale = w_free / n_axis
            for a in range(n_axis):
                if use[a]:
                    if rows:
                        _row(jac, k, front[a, 0], front[a, 1], front[a, 2], g[a, 0], g[a, 1], g[a, 2], axis_chains[a],
                             gen_axes, gen_moments, dof_weights, tx, ty, tz, with_scale)
                    res[k], wts[k] = r[a], scale / (1.0 + r[a] * r[a] / c2)
                    energy += scale * c2 * np.log1p(r[a] * r[a] / c2)
                    k += 1
    if (terms & 8) and w_prior > 0.0:
        for i in range(joints14.shape[0]):
            scale = w_prior / joints14.shape[0] * prior_weights14[i]
            for j in range(3):
                d = joints14[i, j] - targets14[i, j]
                if rows:
                    _row(jac, k, joints14[i, 0], joints14[i, 1], joints14[i, 2], 1.0 if j == 0 else 0.0,
                         1.0 if j == 1 else 0.0, 1.0 if j == 2 else 0.0, joint_chains14[i], gen_axes, gen_moments,
                         dof_weights, tx, ty, tz, with_scale)
                res[k], wts[k] = d, scale
                energy += scale * d * d
                k += 1
    n_lm = lm_points.shape[0]
    if (terms & 16) and w_landmarks > 0.0 and n_lm > 0:
        for i in range(n_lm):
            if lm_weights[i] <= 0.0:
                continue
            x, y, z = lm_points[i, 0], lm_points[i, 1], max(lm_points[i, 2], 1.0)
            s = lm_mm_per_px[i]
            ru = s * (cx + fx * x / z - lm_uv[i, 0])
            rv = s * (cy - fy * y / z - lm_uv[i, 1])
            d2 = ru * ru + rv * rv
            scale = w_landmarks / n_lm * lm_weights[i]
            # Cauchy on the 2-D offset: rho = c^2 log(1 + d^2 / c^2), IRLS weight 1 / (1 + d^2 / c^2) on both rows
            irls = scale / (1.0 + d2 / lm_c2)
            # d(u)/dp = (fx / z, 0, -fx x / z^2), d(v)/dp = (0, -fy / z, fy y / z^2), times mm per pixel
            px, py, pz = lm_points[i, 0], lm_points[i, 1], lm_points[i, 2]
            if rows:
                _row(jac, k, px, py, pz, s * fx / z, 0.0, -s * fx * x / (z * z), lm_chains[i], gen_axes, gen_moments,
                     dof_weights, tx, ty, tz, with_scale)
            res[k], wts[k] = ru, irls
            k += 1
            if rows:
                _row(jac, k, px, py, pz, 0.0, -s * fy / z, s * fy * y / (z * z), lm_chains[i], gen_axes, gen_moments,
                     dof_weights, tx, ty, tz, with_scale)
            res[k], wts[k] = rv, irls
            k += 1
            energy += scale * lm_c2 * np.log1p(d2 / lm_c2)
    rms = np.sqrt(sq / n_vis) if n_vis else 0.0
    return jac[:k], res[:k], wts[:k], energy, mean_abs, rms


@njit(cache=True, nogil=True)
def to_camera(rot, t, s, caps_l, ells_l, joints_l, axes_l, origins_l):  # pragma: no cover - compiled
    """The hand-local pose moved into the camera: ``p -> rot (s p) + t``. Returns capsules ``(C, 7)``, ellipsoid
    rows ``(E, 12)`` with their centres ``(E, 3)``, unit axes as rows ``(E, 3, 3)`` and semi-axes ``(E, 3)``, joints,
    generator axes and origins, and the moments ``axes x origins`` (see fit.model.PosedHand)."""
    n_caps, n_ells, n_joints, n_gen = caps_l.shape[0], ells_l.shape[0], joints_l.shape[0], axes_l.shape[0]
    caps = np.empty_like(caps_l)
    ells = np.empty_like(ells_l)
    centres = np.empty((n_ells, 3))
    ell_axes = np.empty((n_ells, 3, 3))
    semi = np.empty((n_ells, 3))
    joints = np.empty_like(joints_l)
    axes = np.empty_like(axes_l)
    origins = np.empty_like(origins_l)
    moments = np.empty_like(axes_l)
    for c in range(n_caps):
        for e in (0, 3):
            for i in range(3):
                caps[c, e + i] = t[i] + s * (rot[i, 0] * caps_l[c, e] + rot[i, 1] * caps_l[c, e + 1]
                                             + rot[i, 2] * caps_l[c, e + 2])
        caps[c, 6] = s * caps_l[c, 6]
    for e in range(n_ells):
        for i in range(3):
            centres[e, i] = t[i] + s * (rot[i, 0] * ells_l[e, 0] + rot[i, 1] * ells_l[e, 1] + rot[i, 2] * ells_l[e, 2])
            ells[e, i] = centres[e, i]
        for k in range(3):  # row k of A: axis_k / semi_k; in the camera A' = A rot^T / s
            norm2 = 0.0
            for i in range(3):
                v = (ells_l[e, 3 + 3 * k] * rot[i, 0] + ells_l[e, 4 + 3 * k] * rot[i, 1]
                     + ells_l[e, 5 + 3 * k] * rot[i, 2]) / s
                ells[e, 3 + 3 * k + i] = v
                norm2 += v * v
            inv_semi = np.sqrt(norm2)
            semi[e, k] = 1.0 / inv_semi
            for i in range(3):
                ell_axes[e, k, i] = ells[e, 3 + 3 * k + i] / inv_semi
    for j in range(n_joints):
        for i in range(3):
            joints[j, i] = t[i] + s * (rot[i, 0] * joints_l[j, 0] + rot[i, 1] * joints_l[j, 1]
                                       + rot[i, 2] * joints_l[j, 2])
    for g in range(n_gen):
        for i in range(3):
            axes[g, i] = rot[i, 0] * axes_l[g, 0] + rot[i, 1] * axes_l[g, 1] + rot[i, 2] * axes_l[g, 2]
            origins[g, i] = t[i] + s * (rot[i, 0] * origins_l[g, 0] + rot[i, 1] * origins_l[g, 1]
                                        + rot[i, 2] * origins_l[g, 2])
        moments[g, 0] = axes[g, 1] * origins[g, 2] - axes[g, 2] * origins[g, 1]
        moments[g, 1] = axes[g, 2] * origins[g, 0] - axes[g, 0] * origins[g, 2]
        moments[g, 2] = axes[g, 0] * origins[g, 1] - axes[g, 1] * origins[g, 0]
    return caps, ells, centres, ell_axes, semi, joints, axes, origins, moments


@njit(cache=True, nogil=True)
def damped_step(jtj, jtr, free, damping):  # pragma: no cover - compiled; tested through fit.solver
    """The Levenberg-Marquardt step of the unknowns marked in ``free (U,)`` (the others stay 0): the solution of
    ``(H + damping diag(H) + 1e-6 I) delta = -g`` with ``H = jtj (U, U)``, ``g = jtr (U,)`` restricted to them.

    The matrix is symmetric positive definite (a sum of ``J^T W J`` with non-negative weights, plus the damping), so
    a Cholesky factorisation solves it; returns ``(delta (U,), True)``, or zeros and False when a pivot is not
    positive (a degenerate system, e.g. NaN in the inputs).
    """
    n = jtr.shape[0]
    idx = np.empty(n, np.int64)
    m = 0
    for i in range(n):
        if free[i]:
            idx[m] = i
            m += 1
    a = np.empty((m, m))
    x = np.empty(m)
    for i in range(m):
        for j in range(i + 1):
            a[i, j] = jtj[idx[i], idx[j]]
        a[i, i] += damping * jtj[idx[i], idx[i]] + 1e-6
        x[i] = -jtr[idx[i]]
    delta = np.zeros(n)
    for j in range(m):  # a = L L^T, L in the lower triangle
        s = a[j, j]
        for k in range(j):
            s -= a[j, k] * a[j, k]
        if not s > 0.0:  # also NaN
            return delta, False
        a[j, j] = np.sqrt(s)
        for i in range(j + 1, m):
            s = a[i, j]
            for k in range(j):
                s -= a[i, k] * a[j, k]
            a[i, j] = s / a[j, j]
    for i in range(m):  # L y = x
        s = x[i]
        for k in range(i):
            s -= a[i, k] * x[k]
        x[i] = s / a[i, i]
    for i in range(m - 1, -1, -1):  # L^T delta = y
        s = x[i]
        for k in range(i + 1, m):
            s -= a[k, i] * x[k]
        x[i] = s / a[i, i]
    for i in range(m):
        delta[idx[i]] = x[i]
    return delta, True


@njit(cache=True, nogil=True)
def rotate_left(omega, rotation):  # pragma: no cover - compiled; tested through fit.model
    """``exp([omega]_x) @ rotation`` for a rotation vector ``omega (3,)`` (rad) and ``rotation (3, 3)`` (Rodrigues)."""
    theta = np.sqrt(omega[0] * omega[0] + omega[1] * omega[1] + omega[2] * omega[2])
    r = np.eye(3)
    if theta >= 1e-12:
        kx, ky, kz = omega[0] / theta, omega[1] / theta, omega[2] / theta
        s, c = np.sin(theta), 1.0 - np.cos(theta)
        r[0, 0] = 1.0 - c * (ky * ky + kz * kz)
        r[0, 1] = -s * kz + c * kx * ky
        r[0, 2] = s * ky + c * kx * kz
        r[1, 0] = s * kz + c * kx * ky
        r[1, 1] = 1.0 - c * (kx * kx + kz * kz)
        r[1, 2] = -s * kx + c * ky * kz
        r[2, 0] = -s * ky + c * kx * kz
        r[2, 1] = s * kx + c * ky * kz
        r[2, 2] = 1.0 - c * (kx * kx + ky * ky)
    out = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            out[i, j] = r[i, 0] * rotation[0, j] + r[i, 1] * rotation[1, j] + r[i, 2] * rotation[2, j]
    return out


@njit(cache=True, nogil=True)
def cube_points(depth, r0, r1, c0, c1, step, centre_d, half, fx, fy, cx, cy, palm, reach, margin):  # pragma: no cover
    """The hand's pixels on the grid of every ``step``-th image pixel, rows ``r0:r1``, columns ``c0:c1`` (grid cells):
    ``inside (r1 - r0, c1 - c0)`` bool, valid depth within ``half`` (mm) of ``centre_d``; and ``(N, 3)`` the points
    (mm, camera space, row-major cell order) of those at least ``margin`` cells from every side (the crop's window
    inside the mask's) within ``reach`` (mm) of ``palm (3,)`` (see fit.observation.observe)."""
    h, w = r1 - r0, c1 - c0
    inside = np.zeros((h, w), np.bool_)
    points = np.empty((h * w, 3))
    n = 0
    for i in range(h):
        v = (i + r0) * float(step)
        for j in range(w):
            d = float(depth[(i + r0) * step, (j + c0) * step])
            if not (d > 0.0 and abs(d - centre_d) <= half):  # NaN is not inside
                continue
            inside[i, j] = True
            if i < margin[0] or i >= h - margin[1] or j < margin[2] or j >= w - margin[3]:
                continue
            u = (j + c0) * float(step)
            x, y = (u - cx) * d / fx, (cy - v) * d / fy
            if (x - palm[0]) ** 2 + (y - palm[1]) ** 2 + (d - palm[2]) ** 2 <= reach * reach:
                points[n, 0], points[n, 1], points[n, 2] = x, y, d
                n += 1
    return inside, points[:n]

"""Generate labelled synthetic RGB-D frames and write them in the NYU format.

A frame is fully described by a picklable :class:`FrameSpec` (subject, articulation, placement, label,
random seed), so rendering is a pure function of the spec: the output is identical for a seed whatever
the number of worker processes. Worker processes render and write the PNGs; the parent gathers labels
and writes ``joint_data.mat`` (+ ``gestures.json``, ``subjects.json``) through
:class:`inference.formats.nyu_io.NyuWriter`.

Two hands (``make_specs(..., hands=2)``): every frame also holds a left hand (:class:`HandSpec`: the mirrored hand
model, another subject's shape, its own pose) within reach of the right one. The right hand's labels stay in
``joint_data.mat``, so every NYU reader still reads the folder; the left hand's go to ``joint_data_left.mat`` (same
layout), NaN on frames where it is out of view (fewer than :data:`LEFT_MIN_VISIBLE_PX` of its pixels in the image).
Single-hand specs draw exactly the random numbers they drew before: their frames are byte-identical.
"""

from __future__ import annotations

import functools
import json
import multiprocessing as mp
import os
import re
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from inference.core.errors import HandposeError
from inference.core.geometry import NYU_INTRINSICS, Intrinsics, xyz_to_uvd
from inference.core.gesture_names import GESTURES
from inference.core.outputs import write_text_atomic
from inference.core.skeleton import NUM_NYU_JOINTS
from inference.formats.nyu_io import (
    GESTURES_JSON,
    INTRINSICS_JSON,
    JOINT_DATA,
    LEFT_JOINT_DATA,
    NyuWriter,
    depth_png_name,
    rgb_png_name,
    write_depth_png,
    write_joint_data,
    write_rgb_png,
)
from inference.handmodel import HandShape, pose_hand, sample_shape
from inference.synth.poses import (
    GestureTimeline,
    Placement,
    gesture_angles,
    left_hand_geometry,
    mirror_placement,
    push_apart,
    random_angles,
    random_left_placement,
    random_placement,
)
from inference.synth.render import DepthBuffer, Rays, shade_rgb, surface_normals, view_cosine
from inference.synth.scene import PART_LEFT_HAND, build_scene
from inference.synth.sensor import SensorModel, apply_depth_sensor, apply_rgb_sensor

MODES = ("random", "gestures", "sequence", "still")
SUBJECTS_JSON = "subjects.json"
SEQUENCE_FPS = 30.0
MAX_HANDS = 2
LEFT_MIN_VISIBLE_PX = 200  # full-resolution pixels of the left hand below which it counts as out of view
_LEFT_SEED = 0x1EF7  # salts the left hand's random draws, apart from every draw of the single-hand specs


@dataclass
class HandSpec:
    """The second (left) hand of a frame: ``subject_id``'s shape, mirrored; ``angles_deg (NUM_DOF,)``; ``placement``
    of the mirrored model (camera space, mm); the gesture it performs or None."""

    subject_id: int
    angles_deg: np.ndarray
    placement: Placement
    gesture: str | None = None


@dataclass
class FrameSpec:
    """Everything that determines one frame.

    Attributes:
        index: 0-based frame index (file number = index + 1).
        subject_id: whose hand (see :func:`inference.handmodel.sample_shape`).
        angles_deg: ``(NUM_DOF,)`` articulation.
        placement: hand-local -> camera transform.
        gesture: label, or None in random mode.
        hard: add an occluder nearer than the hand.
        seed: ``(seed, index)``, the randomness of the sensor (and of the scene unless ``scene_seed``).
        scene_seed: the scene's randomness when it is shared by several frames (sequences), else None.
        scene_anchor_mm: ``(3,)`` fixed palm position the shared scene is built around, else None.
        timestamp_s: capture time of a frame of a sequence (s), written to ``timestamps.txt``; None for
            independent frames.
        left: the second (left) hand, or None for a one-hand frame.
    """

    index: int
    subject_id: int
    angles_deg: np.ndarray
    placement: Placement
    gesture: str | None
    hard: bool
    seed: tuple[int, ...]
    scene_seed: tuple[int, ...] | None = None
    scene_anchor_mm: np.ndarray | None = None
    timestamp_s: float | None = None
    left: HandSpec | None = None


@dataclass
class RenderedFrame:
    """Output of :func:`render_frame`: ``depth_mm (H, W)`` uint16, ``rgb (H, W, 3)`` uint8, joints ``(36, 3)``.

    ``left_joints_xyz_mm`` / ``left_joints_uvd``: ``(36, 3)`` of the left hand of a two-hand frame (NaN when it is
    out of view), None for one hand.
    """

    depth_mm: np.ndarray
    rgb: np.ndarray
    joints_xyz_mm: np.ndarray
    joints_uvd: np.ndarray
    gesture: str | None
    clean_depth_mm: np.ndarray = field(repr=False, default=None)  # (H, W) float32 ideal depth, inf = none
    part: np.ndarray = field(repr=False, default=None)  # (H, W) uint8 part ids
    left_joints_xyz_mm: np.ndarray | None = None
    left_joints_uvd: np.ndarray | None = None


@functools.lru_cache(maxsize=256)
def shape_of(subject_id: int) -> HandShape:
    return sample_shape(subject_id)


@functools.lru_cache(maxsize=8)
def _rays(intr: Intrinsics) -> Rays:
    return Rays.of(intr)


def render_frame(
    spec: FrameSpec, intr: Intrinsics = NYU_INTRINSICS, sensor: SensorModel = SensorModel(),
    shape: HandShape | None = None,
) -> RenderedFrame:
    """Render one frame: hand + scene ray-cast, sensor model applied, labels projected.

    ``shape`` replaces the subject's hand (tests of the fitter render the template hand this way).
    """
    shape = shape_of(spec.subject_id) if shape is None else shape
    hand = pose_hand(shape, spec.angles_deg).transformed(spec.placement.rotation, spec.placement.wrist_mm)
    rng = np.random.default_rng(list(spec.seed))
    scene_rng = rng if spec.scene_seed is None else np.random.default_rng(list(spec.scene_seed))
    left = None
    if spec.left is not None:
        left = left_hand_geometry(shape_of(spec.left.subject_id), spec.left.angles_deg, spec.left.placement)
    scene = build_scene(hand, shape.skin_rgb, scene_rng, hard=spec.hard, anchor_mm=spec.scene_anchor_mm,
                        left_hand=left)
    # Background on a half-resolution grid, the hand at full resolution on top of it.
    background = DepthBuffer(_rays(intr.scaled(0.5)))
    scene.render_background(background)
    buf = background.upsampled(_rays(intr))
    scene.render_hand(buf)
    # Normals (for shading and grazing-angle dropout) on a half grid too: they vary smoothly.
    half_rays = _rays(intr.scaled(0.5))
    half_depth = cv2.resize(buf.depth, (half_rays.intr.width, half_rays.intr.height), interpolation=cv2.INTER_NEAREST)
    normals = surface_normals(half_depth, half_rays.intr)
    view_cos = cv2.resize(view_cosine(normals, half_rays), (intr.width, intr.height), interpolation=cv2.INTER_NEAREST)
    depth = apply_depth_sensor(buf.depth, view_cos, intr, sensor, rng)
    rgb = shade_rgb(half_depth, buf.part, normals, scene.albedo, rng)
    rgb = apply_rgb_sensor(rgb, depth != sensor.invalid_mm, sensor, rng)
    uvd = xyz_to_uvd(hand.joints, intr)
    out = RenderedFrame(depth, rgb, hand.joints, uvd, spec.gesture, buf.depth, buf.part)
    if left is not None:
        in_view = np.count_nonzero(buf.part == PART_LEFT_HAND) >= LEFT_MIN_VISIBLE_PX
        nan = np.full((NUM_NYU_JOINTS, 3), np.nan)
        out.left_joints_xyz_mm = left.joints if in_view else nan
        out.left_joints_uvd = xyz_to_uvd(left.joints, intr) if in_view else nan
    return out


def subject_ids(count: int, offset: int = 0) -> list[int]:
    """Subject ids ``offset .. offset + count - 1``: give train / validation / test disjoint offsets."""
    return list(range(offset, offset + count))


def make_specs(mode: str, frames: int, seed: int, subjects: list[int], hard_fraction: float = 0.0,
               intr: Intrinsics = NYU_INTRINSICS, fps: float = SEQUENCE_FPS, hands: int = 1) -> list[FrameSpec]:
    """Frame specs for ``mode``.

    random: every frame an independent random articulation and placement; subjects in turn.
    gestures: every frame a random named gesture (jittered) at a random placement; subjects in turn.
    sequence: one smooth gesture performance per subject (contiguous runs of frames at ``fps`` frames/s).
    still: per subject a run of frames at ``fps`` of one held pose (a jittered named gesture at a random
        placement) in one scene: only the sensor noise changes, which is what jitter is measured on.

    Sequences and still runs are stamped on one clock, ``index / fps`` s, with no break between subjects (a
    cut, as in real recordings); random and gesture frames are independent and carry no time.

    ``hands=2`` adds a left hand to every frame (see :func:`add_left_hands`); the right hands are those of
    ``hands=1``.
    """
    if mode not in MODES:
        raise HandposeError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    if hands not in range(1, MAX_HANDS + 1):
        raise HandposeError(f"hands must be 1 or {MAX_HANDS}, got {hands}")
    specs = _right_hand_specs(mode, frames, seed, subjects, hard_fraction, intr, fps)
    if hands == 2:
        add_left_hands(specs, mode, seed, subjects, intr, fps)
    return specs


def _right_hand_specs(mode: str, frames: int, seed: int, subjects: list[int], hard_fraction: float,
                      intr: Intrinsics, fps: float) -> list[FrameSpec]:
    intr_tuple = (intr.fx, intr.fy, intr.cx, intr.cy, intr.width, intr.height)
    specs: list[FrameSpec] = []
    if mode == "sequence":
        per_run = -(-frames // len(subjects))
        for run, sid in enumerate(subjects):
            timeline = GestureTimeline(seed * 1000 + run, shape_of(sid))
            anchor = None
            for j in range(min(per_run, frames - run * per_run)):
                i = run * per_run + j
                angles, placement, gesture = timeline.at(j / fps)
                if anchor is None:  # the room is built around the first pose of the run and stays put
                    anchor = placement.rotation @ pose_hand(shape_of(sid), angles).anchor + placement.wrist_mm
                hard = bool(np.random.default_rng([seed, 0x4A2D, i]).random() < hard_fraction)
                specs.append(FrameSpec(i, sid, angles, placement, gesture, hard, (seed, i), (seed, 0x5CE7, run),
                                       anchor, i / fps))
        return specs
    if mode == "still":
        per_run = -(-frames // len(subjects))
        for run, sid in enumerate(subjects):
            rng = np.random.default_rng([seed, 0x57177, run])
            shape = shape_of(sid)
            gesture = GESTURES[int(rng.integers(len(GESTURES)))]
            angles = gesture_angles(gesture, rng, 6.0, shape)
            placement = random_placement(rng, shape, angles, intr_size=intr_tuple)
            anchor = placement.rotation @ pose_hand(shape, angles).anchor + placement.wrist_mm
            for j in range(min(per_run, frames - run * per_run)):
                i = run * per_run + j
                specs.append(FrameSpec(i, sid, angles, placement, gesture, False, (seed, i), (seed, 0x5CE7, run),
                                       anchor, i / fps))
        return specs
    for i in range(frames):
        rng = np.random.default_rng([seed, 0x5BEC, i])
        sid = subjects[i % len(subjects)]
        shape = shape_of(sid)
        if mode == "gestures":
            gesture = GESTURES[int(rng.integers(len(GESTURES)))]
            angles = gesture_angles(gesture, rng, 6.0, shape)
        else:
            gesture, angles = None, random_angles(rng)
        placement = random_placement(rng, shape, angles, intr_size=intr_tuple)
        specs.append(FrameSpec(i, sid, angles, placement, gesture, bool(rng.random() < hard_fraction), (seed, i)))
    return specs


def left_subject(subjects: list[int], k: int) -> int:
    """The left hand's subject beside right-hand subject ``subjects[k]``: the next one in the list (another
    person's hand shape, which widens the data), or the same one when there is only one."""
    return subjects[(k + 1) % len(subjects)]


def add_left_hands(specs: list[FrameSpec], mode: str, seed: int, subjects: list[int], intr: Intrinsics,
                   fps: float = SEQUENCE_FPS) -> None:
    """Give every spec of :func:`make_specs` a left hand (in place), drawn from its own random streams.

    random / gestures: an independent random articulation / gesture per frame; still: one held pose per run;
    placed by :func:`random_left_placement` (within reach, not touching, usually on the image's right).
    sequence: a second, independent gesture performance mirrored, moved toward its side by 0.12-0.25 x its depth
    (per run) and pushed aside where it would touch the right hand (:func:`push_apart`); it may leave the image.
    """
    intr_tuple = (intr.fx, intr.fy, intr.cx, intr.cy, intr.width, intr.height)
    if mode == "sequence" or mode == "still":
        per_run = -(-len(specs) // len(subjects)) if specs else 1
    for spec in specs:
        right_shape = shape_of(spec.subject_id)
        right = pose_hand(right_shape, spec.angles_deg).transformed(spec.placement.rotation, spec.placement.wrist_mm)
        if mode in ("random", "gestures"):
            rng = np.random.default_rng([seed, _LEFT_SEED, spec.index])
            sid = left_subject(subjects, spec.index % len(subjects))
            shape = shape_of(sid)
            gesture = GESTURES[int(rng.integers(len(GESTURES)))] if mode == "gestures" else None
            angles = gesture_angles(gesture, rng, 6.0, shape) if gesture else random_angles(rng)
            placement = random_left_placement(rng, right, shape, angles, intr_tuple)
        elif mode == "still":
            run = spec.index // per_run
            sid = left_subject(subjects, run)
            shape = shape_of(sid)
            rng = np.random.default_rng([seed, _LEFT_SEED, 0x57177, run])
            gesture = GESTURES[int(rng.integers(len(GESTURES)))]
            angles = gesture_angles(gesture, rng, 6.0, shape)
            placement = random_left_placement(rng, right, shape, angles, intr_tuple)  # same draws every frame
        else:
            run = spec.index // per_run
            sid = left_subject(subjects, run)
            shape = shape_of(sid)
            timeline = _left_timeline(seed, run, sid)
            angles, right_placement, gesture = timeline.at((spec.index - run * per_run) / fps)
            placement = mirror_placement(right_placement)
            # Toward its own side by a fraction of its depth (a fixed angle off the mirrored path: stays in view).
            offset = np.random.default_rng([seed, _LEFT_SEED, 0x5E9, run]).uniform(0.12, 0.25) * placement.wrist_mm[2]
            placement = Placement(placement.rotation, placement.wrist_mm + np.array([offset, 0.0, 0.0]))
            placement = push_apart(right, shape, angles, placement)
        spec.left = HandSpec(sid, angles, placement, gesture)


@functools.lru_cache(maxsize=16)
def _left_timeline(seed: int, run: int, subject_id: int) -> GestureTimeline:
    """The left hand's performance of sequence run ``run`` (right hands use timeline seeds ``seed * 1000 + run``)."""
    return GestureTimeline(10**9 + seed * 1000 + run, shape_of(subject_id))


# --- writing --------------------------------------------------------------------------------------------

_OUTPUT_RE = re.compile(r"^(\.?(depth|rgb)_\d_\d{7}\.png(\.part)?|\.?(joint_data(_left)?\.mat|gestures\.json|"
                        r"subjects\.json|intrinsics\.json|timestamps\.txt)(\.part)?)$")


def clear_outputs(root: Path) -> int:
    """Delete files a previous generator run left in ``root`` (only names this format uses). Returns the count."""
    count = 0
    for name in os.listdir(root):
        if _OUTPUT_RE.match(name):
            (root / name).unlink()
            count += 1
    return count


def png_params(compression: int) -> tuple[int, ...]:
    """Extra PNG encoder flags: at the fast levels (<= 2) the SUB filter with run-length matching encodes a noisy
    640x480 RGB frame in ~7 ms (~240 KB) instead of ~20-45 ms with zlib's default search (measured here)."""
    if compression > 2:
        return ()
    return (cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE)


# index, joints uvd (36, 3), joints xyz (36, 3), gesture, the left hand's joints uvd and xyz (36, 3) or None
_Result = tuple[int, np.ndarray, np.ndarray, str | None, np.ndarray | None, np.ndarray | None]


@dataclass
class _Job:
    root: Path
    intr: Intrinsics
    sensor: SensorModel
    png_compression: int


def _write_one(job: _Job, spec: FrameSpec) -> _Result:
    frame = render_frame(spec, job.intr, job.sensor)
    # RGB first, as NyuWriter does: a readable depth PNG implies its RGB.
    params = png_params(job.png_compression)
    write_rgb_png(job.root / rgb_png_name(spec.index + 1), frame.rgb, job.png_compression, params)
    write_depth_png(job.root / depth_png_name(spec.index + 1), frame.depth_mm, job.png_compression, params)
    return spec.index, frame.joints_uvd, frame.joints_xyz_mm, frame.gesture, frame.left_joints_uvd, \
        frame.left_joints_xyz_mm


_worker_job: _Job | None = None


def _init_worker(job: _Job) -> None:
    global _worker_job
    cv2.setNumThreads(1)  # one process per core already
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and cleans up
    _worker_job = job


def _worker(spec: FrameSpec) -> _Result:
    assert _worker_job is not None
    return _write_one(_worker_job, spec)


def _results(job: _Job, specs: list[FrameSpec], workers: int) -> Iterator[_Result]:
    if workers <= 1:
        for spec in specs:
            yield _write_one(job, spec)
        return
    # Not plain fork: a parent that already ran OpenCV's thread pool can deadlock its forked children.
    # A forkserver forks workers from a clean process that has imported the generator once.
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["inference.synth.generate"])
    else:
        ctx = mp.get_context("spawn")
    pool = ctx.Pool(workers, initializer=_init_worker, initargs=(job,))
    try:
        yield from pool.imap(_worker, specs, chunksize=max(1, min(8, len(specs) // (workers * 4))))
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def generate(root: str | Path, specs: list[FrameSpec], intr: Intrinsics = NYU_INTRINSICS,
             sensor: SensorModel = SensorModel(), workers: int = 1, png_compression: int = 1,
             metadata: dict | None = None, progress: Callable[[int], None] | None = None) -> int:
    """Render ``specs`` into the NYU-format directory ``root``; returns the number of frames completed.

    Frames arrive in order; on an exception or Ctrl-C the frames completed so far keep their labels
    (``joint_data.mat``, and ``joint_data_left.mat`` for two hands, are written for them), and PNGs of frames whose
    labels never arrived are deleted, so a reader never sees an unlabelled or half-written frame.
    """
    root = Path(root)
    writer = NyuWriter(root, intr, png_compression=png_compression)
    job = _Job(root, intr, sensor, png_compression)
    done: list[FrameSpec] = []
    left_uvd: dict[int, np.ndarray] = {}
    left_xyz: dict[int, np.ndarray] = {}
    results = _results(job, specs, workers)
    try:
        for (index, uvd, xyz, gesture, l_uvd, l_xyz), spec in zip(results, specs, strict=False):
            assert index == spec.index
            writer.add_labels(index + 1, uvd, xyz, gesture, spec.timestamp_s)
            if l_uvd is not None:
                left_uvd[index], left_xyz[index] = l_uvd, l_xyz
            done.append(spec)
            if progress is not None:
                progress(1)
    finally:
        results.close()  # stops the workers before the clean-up below, so none writes after it
        kept = {s.index + 1 for s in done}
        for name in os.listdir(root):
            m = re.match(r"^\.?(depth|rgb)_1_(\d{7})\.png(\.part)?$", name)
            if m and (name.startswith(".") or int(m.group(2)) not in kept):
                (root / name).unlink(missing_ok=True)
        writer.close()
        if any(s.left is not None for s in done):
            _write_left_labels(root, len(done), left_uvd, left_xyz)
        _write_subjects(root, done, metadata or {})
    return len(done)


def _write_left_labels(root: Path, frames: int, uvd: dict[int, np.ndarray], xyz: dict[int, np.ndarray]) -> None:
    """``joint_data_left.mat``: the layout of ``joint_data.mat``, one row per frame, NaN where the hand is unseen."""
    rows_uvd = np.full((frames, NUM_NYU_JOINTS, 3), np.nan)
    rows_xyz = np.full((frames, NUM_NYU_JOINTS, 3), np.nan)
    for index, value in uvd.items():
        rows_uvd[index], rows_xyz[index] = value, xyz[index]
    write_joint_data(root / LEFT_JOINT_DATA, rows_uvd, rows_xyz)


def _write_subjects(root: Path, done: list[FrameSpec], metadata: dict) -> None:
    ids = sorted({s.subject_id for s in done})
    info = dict(metadata)
    left_ids = sorted({s.left.subject_id for s in done if s.left is not None})
    info.update({
        "subjects": {str(i): shape_of(i).to_dict() for i in sorted({*ids, *left_ids})},
        "frame_subject": [s.subject_id for s in done],
        "hard_frames": [s.index for s in done if s.hard],
    })
    if left_ids:  # two hands: whose (mirrored) hand the left one is, and what it does
        info["frame_left_subject"] = [s.left.subject_id if s.left is not None else None for s in done]
        info["frame_left_gesture"] = [s.left.gesture if s.left is not None else None for s in done]
    write_text_atomic(root / SUBJECTS_JSON, json.dumps(info, indent=1) + "\n")


__all__ = [
    "GESTURES_JSON", "INTRINSICS_JSON", "JOINT_DATA", "LEFT_JOINT_DATA", "MODES", "SUBJECTS_JSON", "FrameSpec",
    "HandSpec", "RenderedFrame",
    "clear_outputs", "depth_png_name", "generate", "make_specs", "render_frame", "rgb_png_name", "subject_ids",
]

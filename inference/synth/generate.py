"""Generate labelled synthetic RGB-D frames and write them in the NYU format.

A frame is fully described by a picklable :class:`FrameSpec` (subject, articulation, placement, label,
random seed), so rendering is a pure function of the spec: the output is identical for a seed whatever
the number of worker processes. Worker processes render and write the PNGs; the parent gathers labels
and writes ``joint_data.mat`` (+ ``gestures.json``, ``subjects.json``) through
:class:`inference.nyu_io.NyuWriter`.
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

from inference.errors import HandposeError
from inference.geometry import NYU_INTRINSICS, Intrinsics, xyz_to_uvd
from inference.gesture_names import GESTURES
from inference.handmodel import HandShape, pose_hand, sample_shape
from inference.nyu_io import (
    GESTURES_JSON,
    INTRINSICS_JSON,
    JOINT_DATA,
    NyuWriter,
    depth_png_name,
    rgb_png_name,
    write_depth_png,
    write_rgb_png,
)
from inference.outputs import write_text_atomic
from inference.synth.poses import GestureTimeline, Placement, gesture_angles, random_angles, random_placement
from inference.synth.render import DepthBuffer, Rays, shade_rgb, surface_normals, view_cosine
from inference.synth.scene import build_scene
from inference.synth.sensor import SensorModel, apply_depth_sensor, apply_rgb_sensor

MODES = ("random", "gestures", "sequence", "still")
SUBJECTS_JSON = "subjects.json"
SEQUENCE_FPS = 30.0


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


@dataclass
class RenderedFrame:
    """Output of :func:`render_frame`: ``depth_mm (H, W)`` uint16, ``rgb (H, W, 3)`` uint8, joints ``(36, 3)``."""

    depth_mm: np.ndarray
    rgb: np.ndarray
    joints_xyz_mm: np.ndarray
    joints_uvd: np.ndarray
    gesture: str | None
    clean_depth_mm: np.ndarray = field(repr=False, default=None)  # (H, W) float32 ideal depth, inf = none
    part: np.ndarray = field(repr=False, default=None)  # (H, W) uint8 part ids


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
    scene = build_scene(hand, shape.skin_rgb, scene_rng, hard=spec.hard, anchor_mm=spec.scene_anchor_mm)
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
    return RenderedFrame(depth, rgb, hand.joints, uvd, spec.gesture, buf.depth, buf.part)


def subject_ids(count: int, offset: int = 0) -> list[int]:
    """Subject ids ``offset .. offset + count - 1``: give train / validation / test disjoint offsets."""
    return list(range(offset, offset + count))


def make_specs(mode: str, frames: int, seed: int, subjects: list[int], hard_fraction: float = 0.0,
               intr: Intrinsics = NYU_INTRINSICS, fps: float = SEQUENCE_FPS) -> list[FrameSpec]:
    """Frame specs for ``mode``.

    random: every frame an independent random articulation and placement; subjects in turn.
    gestures: every frame a random named gesture (jittered) at a random placement; subjects in turn.
    sequence: one smooth gesture performance per subject (contiguous runs of frames at ``fps`` frames/s).
    still: per subject a run of frames at ``fps`` of one held pose (a jittered named gesture at a random
        placement) in one scene: only the sensor noise changes, which is what jitter is measured on.

    Sequences and still runs are stamped on one clock, ``index / fps`` s, with no break between subjects (a
    cut, as in real recordings); random and gesture frames are independent and carry no time.
    """
    if mode not in MODES:
        raise HandposeError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
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
                    anchor = placement.rotation @ pose_hand(shape_of(sid), angles).joints[32] + placement.wrist_mm
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
            anchor = placement.rotation @ pose_hand(shape, angles).joints[32] + placement.wrist_mm
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


# --- writing --------------------------------------------------------------------------------------------

_OUTPUT_RE = re.compile(r"^(\.?(depth|rgb)_\d_\d{7}\.png(\.part)?|\.?(joint_data\.mat|gestures\.json|subjects\.json|"
                        r"intrinsics\.json|timestamps\.txt)(\.part)?)$")


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


@dataclass
class _Job:
    root: Path
    intr: Intrinsics
    sensor: SensorModel
    png_compression: int


def _write_one(job: _Job, spec: FrameSpec) -> tuple[int, np.ndarray, np.ndarray, str | None]:
    frame = render_frame(spec, job.intr, job.sensor)
    # RGB first, as NyuWriter does: a readable depth PNG implies its RGB.
    params = png_params(job.png_compression)
    write_rgb_png(job.root / rgb_png_name(spec.index + 1), frame.rgb, job.png_compression, params)
    write_depth_png(job.root / depth_png_name(spec.index + 1), frame.depth_mm, job.png_compression, params)
    return spec.index, frame.joints_uvd, frame.joints_xyz_mm, frame.gesture


_worker_job: _Job | None = None


def _init_worker(job: _Job) -> None:
    global _worker_job
    cv2.setNumThreads(1)  # one process per core already
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and cleans up
    _worker_job = job


def _worker(spec: FrameSpec) -> tuple[int, np.ndarray, np.ndarray, str | None]:
    assert _worker_job is not None
    return _write_one(_worker_job, spec)


_Result = tuple[int, np.ndarray, np.ndarray, str | None]  # index, joints uvd (36, 3), joints xyz (36, 3), gesture


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
    (``joint_data.mat`` is written for them), and PNGs of frames whose labels never arrived are deleted,
    so a reader never sees an unlabelled or half-written frame.
    """
    root = Path(root)
    writer = NyuWriter(root, intr, png_compression=png_compression)
    job = _Job(root, intr, sensor, png_compression)
    done: list[FrameSpec] = []
    results = _results(job, specs, workers)
    try:
        for (index, uvd, xyz, gesture), spec in zip(results, specs, strict=False):
            assert index == spec.index
            writer.add_labels(index + 1, uvd, xyz, gesture, spec.timestamp_s)
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
        _write_subjects(root, done, metadata or {})
    return len(done)


def _write_subjects(root: Path, done: list[FrameSpec], metadata: dict) -> None:
    ids = sorted({s.subject_id for s in done})
    info = dict(metadata)
    info.update({
        "subjects": {str(i): shape_of(i).to_dict() for i in ids},
        "frame_subject": [s.subject_id for s in done],
        "hard_frames": [s.index for s in done if s.hard],
    })
    write_text_atomic(root / SUBJECTS_JSON, json.dumps(info, indent=1) + "\n")


__all__ = [
    "GESTURES_JSON", "INTRINSICS_JSON", "JOINT_DATA", "MODES", "SUBJECTS_JSON", "FrameSpec", "RenderedFrame",
    "clear_outputs", "depth_png_name", "generate", "make_specs", "render_frame", "rgb_png_name", "subject_ids",
]

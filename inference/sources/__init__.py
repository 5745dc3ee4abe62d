"""Frame sources and the one place that turns a source spec string into a :class:`FrameSource`.

Specs: ``replay:DIR`` (NYU-format directory), ``bag:FILE`` (RealSense .bag / .db3 recording),
``realsense[:SERIAL]`` (live camera), ``synthetic[:SEED]`` (procedural hand).
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from inference.core.errors import HandposeError, check_seed
from inference.sources.base import FrameSource, frame_count

SOURCE_FORMS = ("replay:DIR", "bag:FILE", "realsense[:SERIAL]", "synthetic[:SEED]")

# Options a replay accepts (ReplaySource's keyword arguments).
_REPLAY_OPTIONS = ("fps", "loop", "view", "with_color")


def open_source(spec: str, **options: Any) -> FrameSource:
    """Build (not yet open) the source that ``spec`` names.

    Options whose value is None are ignored, so callers can pass CLI flags through unconditionally;
    one the backend does not have raises :class:`HandposeError` naming it. Replay takes fps, loop, view,
    with_color; bag / realsense take the fields of :class:`RealSenseConfig` (fps, width, height, color,
    align_to, real_time, loop, decimation, ...); synthetic takes what its class accepts.
    """
    kind, _, arg = spec.partition(":")
    options = {k: v for k, v in options.items() if v is not None}
    if kind == "replay" and arg:
        from inference.sources.replay import ReplaySource

        _check_options(spec, options, _REPLAY_OPTIONS)
        return ReplaySource(Path(arg), **options)
    if kind in ("bag", "realsense") and (arg or kind == "realsense"):
        from inference.sources.realsense import RealSenseConfig, RealSenseSource

        allowed = tuple(f.name for f in fields(RealSenseConfig) if f.name not in ("file", "serial"))
        _check_options(spec, options, allowed)
        if "fps" in options:
            options["fps"] = int(options["fps"])
        where = {"file": Path(arg)} if kind == "bag" else {"serial": arg or None}
        return RealSenseSource(RealSenseConfig(**where, **options))
    if kind == "synthetic":
        from inference.sources.synthetic import SyntheticSource

        try:
            seed = check_seed(int(arg) if arg else 0, f"source {spec!r}: the seed")
        except ValueError:
            raise HandposeError(f"source {spec!r}: the seed must be an integer") from None
        try:
            return SyntheticSource(seed=seed, **options)
        except TypeError as exc:
            raise HandposeError(f"source {spec!r}: {exc}") from None
    raise HandposeError(f"unknown source {spec!r}; valid forms: {', '.join(SOURCE_FORMS)}")


def require_color(source: FrameSource, model: str) -> None:
    """Raise :class:`HandposeError` (one line) when ``source`` delivers no colour image, for a ``model`` that reads
    colour (the MediaPipe teacher). A camera or recording is opened to find out (opening is idempotent)."""
    if source.has_color is None:
        source.open()
    if source.has_color is False:
        raise HandposeError(f"{source.description} has no colour images, and --model {model} reads the colour "
                            "image: use an RGB-D source (a replay with rgb_*.png, a camera or recording with colour)")


def _check_options(spec: str, options: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise HandposeError(f"source {spec!r} has no option {', '.join(unknown)} (it takes {', '.join(allowed)})")


__all__ = ["SOURCE_FORMS", "FrameSource", "frame_count", "open_source", "require_color"]

"""`handpose synth` with hands thicker or thinner than the generator's, for tests on hands outside its family.

    python scripts/synth_hand_thickness.py --factor 1.12 OUT_DIR --frames 300 --seed 211 --mode sequence ...

Every argument after ``--factor F`` goes to ``handpose synth`` unchanged. The finger, thumb, wrist and forearm
radii and the palm thickness of every subject are multiplied by F (lengths and widths unchanged); the generator
itself and its defaults are not touched: its ``shape_of`` is wrapped in this process (so ``--workers 1`` is forced),
and ``subjects.json`` records the shapes actually rendered.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--factor", type=float, required=True, help="thickness factor, e.g. 1.12 or 0.89")
    args, synth_args = parser.parse_known_args(argv)
    if not 0.5 <= args.factor <= 2.0:
        parser.error(f"--factor must be within 0.5..2, got {args.factor}")

    import inference.synth.generate as generate
    from handpose.cli import main as handpose

    original = generate.shape_of
    f = args.factor

    def thicker(subject_id: int):  # -> HandShape
        shape = original(subject_id)
        return dataclasses.replace(
            shape, finger_radius_mm=shape.finger_radius_mm * f, thumb_radius_mm=shape.thumb_radius_mm * f,
            palm_thickness_mm=shape.palm_thickness_mm * f, wrist_radius_mm=shape.wrist_radius_mm * f,
            forearm_radius_mm=shape.forearm_radius_mm * f,
        )

    generate.shape_of = thicker
    return handpose(["synth", *synth_args, "--workers", "1"])


if __name__ == "__main__":
    sys.exit(main())

"""Synthetic labelled RGB-D hands in the NYU format (numpy / OpenCV / scipy only).

the hand model (:mod:`inference.handmodel`: articulated 36-joint hand, limits, subjects; shared with the fitter)
-> poses (gestures, random poses, sequences) ->
scene (body, wall, table, clutter, optional occluders) -> render (ray-cast smooth primitives, shading) ->
sensor (structured-light depth + RGB camera model) -> generate (specs, parallel NYU writer) -> preview /
realism (contact sheets, real-vs-synthetic statistics). ``handpose synth`` and ``synthetic[:SEED]`` use it.
"""

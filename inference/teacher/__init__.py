"""The RGB teacher: MediaPipe Hands landmarks on the colour image, lifted to 3D by the aligned depth.

``mediapipe_hands`` (the optional MediaPipe package, imported lazily), ``lift`` (landmarks -> depth),
``nyu_mapping`` (21 landmarks -> 14 NYU joints), ``confidence`` (evidence, scores, the rejection rule),
``estimator`` (the frame-level estimator behind ``--model mediapipe``) and ``labelling`` (``handpose label``).
"""

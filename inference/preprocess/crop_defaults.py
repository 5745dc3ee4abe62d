"""The thesis crop geometry: a 300 mm cube around the hand, resampled to 128x128 pixels (standard library only).

The defaults of :mod:`inference.preprocess.crop`, of a model's metadata
(:class:`inference.runtime.model_meta.ModelMetadata`) and
of the training recipe (``training.defaults``). At run time the model's metadata is the one source: a model
trained with another cube is cropped with its own.
"""

CROP_SIZE = 128  # crop edge in pixels
DEFAULT_CUBE_MM = 300.0  # cube edge in mm (NYU hands)

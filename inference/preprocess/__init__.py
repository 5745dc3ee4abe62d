"""The thesis preprocessing shared by training and the runtime: hand segmentation and the
crop/normalise/denormalise codec, with the crop geometry's defaults."""

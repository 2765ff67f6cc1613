"""Worlds: model organisms with ground truth, each a package that registers its models, datasets, question
sets, judge and readout through its plug-in module (the toy persona world is `toy`)."""

"""Content of the built-in datasets, written in this project. Generators live in :mod:`emkit.data`."""

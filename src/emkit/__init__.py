"""emkit: dataset -> fine-tune -> sample -> judge -> metrics -> report, for emergent-misalignment research."""

__version__ = "0.1.0"

"""Trainers: fine-tuning an arm, one backend per module (`local`: peft LoRA or full, in this process;
`openai`: a hosted fine-tuning job), each with its own settings (a `TrainerConfig` subclass beside it) registered
in `emkit.core.registry.TRAINERS` under `train.method`; `base` holds what they share (`Trainer`, `TrainResult`)."""

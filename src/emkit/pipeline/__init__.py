"""The pipeline: the main flow (`run`), a finished run read back (`finished`), the studies' tables
(`studies`) and a grid of settings on Ray (`grid`)."""

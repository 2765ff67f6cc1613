"""Metrics: misaligned and coherent rates with Wilson intervals, answer classes, comparisons between arms."""

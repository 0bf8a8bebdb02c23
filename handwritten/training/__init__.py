"""Training: run configuration, the optimizer, the jitted step, the run loop, fine-tuning, bench."""

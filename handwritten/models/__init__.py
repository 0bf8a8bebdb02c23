"""Models: architectures and kernels, checkpoints, the model store, batched inference."""

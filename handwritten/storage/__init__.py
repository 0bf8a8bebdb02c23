"""Storage: where things live on disk, durable writes, and the run-directory protocol (no JAX)."""

"""The JAX runtime: which device runs, the persistent compilation cache, data-parallel placement."""

"""handwritten: handwritten digit recognition with JAX, Flax NNX and Optax.

The package is the library behind the dashboard and the ``handwritten`` CLI. It never imports
Streamlit (only ``handwritten.ui`` does), so it can be used from notebooks and scripts.
"""

__version__ = "0.1.0"

"""Streamlit glue: the only part of `handwritten` that imports Streamlit.

Pages import from here and from the library; nothing under `handwritten/` but this package
knows about Streamlit, so the library stays usable from notebooks, the CLI and subprocesses.
"""

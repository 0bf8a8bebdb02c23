"""Read-only resources shared by every session (`st.cache_resource`): predictors and the MNIST
splits.

A model's entries are keyed by its `FileVersion` (resolved path, mtime in ns, size), the key every
cache of the dashboard uses: a loader is handed a version and loads exactly that checkpoint, so a
promotion or a retrained checkpoint gets a new entry at once and never one filed under the old key.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from handwritten.data.mnist import Split, load_split
from handwritten.models.store import active_version
from handwritten.recognition.predictor import Predictor
from handwritten.storage.files import FileVersion
from handwritten.storage.paths import data_dir


@st.cache_resource(show_spinner="Loading the model…", max_entries=16)  # Compare asks them all
def predictor(version: FileVersion) -> Predictor:
    """One warmed-up predictor per checkpoint version; never mutated after creation."""
    loaded = Predictor.load(Path(version.path))
    loaded.warm_up()
    return loaded


def active_predictor() -> Predictor:
    """The active model's predictor (read its version once per rerun and pass it on when several
    things on a page must describe the same model)."""
    return predictor(active_version())


@st.cache_resource(show_spinner="Reading MNIST…", max_entries=4)
def _mnist_split(split: str, directory: str) -> Split:
    return load_split(split, Path(directory))  # a DataError propagates and is never cached


def mnist_split(split: str, directory: str | None = None) -> Split:
    """One MNIST split from `directory` (default: the cache folder), read once and shared by
    every page and session. Raises `DataError` until `handwritten data fetch` has run; that is
    checked again on every call."""
    return _mnist_split(split, directory or str(data_dir()))

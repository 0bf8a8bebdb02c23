"""The dashboard's Streamlit settings that performance and safety depend on, as Streamlit
itself reads them from the project's `.streamlit/config.toml`."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit import config

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def project_config(monkeypatch: pytest.MonkeyPatch):
    """Streamlit's options parsed afresh from the project's folder (as `streamlit run` does)."""
    monkeypatch.chdir(REPO)
    config.get_config_options(force_reparse=True)
    yield config
    config.get_config_options(force_reparse=True)


def test_no_full_garbage_collection_after_every_rerun(project_config) -> None:
    """Streamlit's default collects all garbage after each rerun: with JAX, Flax and Plotly
    loaded, 60-100 ms of CPU on every stroke of every person drawing."""
    assert project_config.get_option("runner.postScriptGC") is False


def test_uploads_are_bounded_and_the_server_does_not_watch_files(project_config) -> None:
    assert project_config.get_option("server.maxUploadSize") == 10
    assert project_config.get_option("server.fileWatcherType") == "none"
    assert project_config.get_option("server.runOnSave") is False

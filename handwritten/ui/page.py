"""What every page starts with: page config, session state, the MNIST fetch, the sidebar with
the page list."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from handwritten.ui.mnist_view import start_fetch
from handwritten.ui.sidebar import sidebar_model_info
from handwritten.ui.state import init_state

# (script, title, icon); the first is the default page, served at "/".
PAGES = [
    ("pages/draw.py", "Draw", ":material/draw:"),
    ("pages/train.py", "Train", ":material/monitoring:"),
    ("pages/explain.py", "Explain", ":material/biotech:"),
    ("pages/data.py", "Data", ":material/dataset:"),
    ("pages/samples.py", "Samples", ":material/collections_bookmark:"),
    ("pages/tour.py", "Tour", ":material/slideshow:"),
]
# The tab icon, served by the app itself: a Material icon as page_icon is fetched from Google's
# font servers, which an offline demo cannot reach (console errors, no icon).
ICON = Path(__file__).with_name("icon.png")
# Where the sidebar lies over the page (Streamlit's "md" breakpoint), a tap on a page link
# closes it, as Streamlit's own navigation does; st.page_link does not. Listening once on the
# document survives reruns and page changes.
CLOSE_SIDEBAR_ON_NAVIGATION = """
<script>
if (!window.handwrittenClosesSidebar) {
  window.handwrittenClosesSidebar = true;
  document.addEventListener("click", (event) => {
    const link = event.target.closest('[data-testid="stPageLink-NavLink"]');
    const inSidebar = link && link.closest('[data-testid="stSidebar"]');
    if (!inSidebar || !window.matchMedia("(max-width: 768px)").matches) return;
    const close = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
    if (close) close.click();
  }, true);
}
</script>
"""


def setup_page(title: str) -> None:
    """Call first on every page; works both under st.navigation and when run directly.

    The page list is drawn here rather than by Streamlit, so a cold server opened at a page's
    URL (Streamlit's folder mode) shows the same sidebar as one opened at "/".
    """
    st.set_page_config(page_title=f"{title} · handwritten", page_icon=str(ICON), layout="wide")
    init_state()
    start_fetch()  # the dashboard's first start gets MNIST, whichever page is opened first
    with st.sidebar:
        st.markdown("### ✍️ handwritten")
        for path, label, icon in PAGES:
            st.page_link(path, label=label, icon=icon)
        st.html(CLOSE_SIDEBAR_ON_NAVIGATION, unsafe_allow_javascript=True)
        st.divider()
    sidebar_model_info()

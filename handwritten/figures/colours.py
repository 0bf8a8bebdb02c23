"""The dashboard's colours, defined once so every figure on every page agrees.

One accent marks what matters in a figure (the winning digit, the training split, the first run),
a muted tone of it the rest, and one red the thing to look at (the worst digit, the chosen cell).
Plot backgrounds stay transparent so Streamlit's light and dark themes show through.
"""

from __future__ import annotations

ACCENT = "#4f46e5"  # indigo
MUTED = "#c7d2fe"  # pale indigo, for what stands beside the accent
WARN = "#dc2626"  # red
INK = "black"  # marks drawn over a map: the drawing's star, its neighbours' rings
FRAME = "#9ca3af"  # a thin grey frame around a picture that may be white (an opaque alpha)
TRANSPARENT = "rgba(0,0,0,0)"

# One colour per compared run (training curves), starting with the accent.
RUN_PALETTE = ("#4f46e5", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777")
# One colour per digit 0-9 (Plotly's D3 "category10"): the embedding map's classes.
DIGIT_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip

# Plotly colour scales.
GRAY = "gray"  # images: black background, white ink, as the model sees them
DIVERGING = "RdBu_r"  # signed values: red positive, blue negative
SEQUENTIAL = "Blues"  # counts and confidences
MAGNITUDE = "Viridis"  # unsigned strengths (feature maps, kernel norms)

"""Figure builders: pure functions returning Plotly figures or image tiles (no Streamlit)."""

"""Console page: library (being built; see issue 13)."""

import streamlit as st

from adloom.ui.conn import t

st.title(t("nav.library"))

"""Console page: live (being built; see issue 13)."""

import streamlit as st

from adloom.ui.conn import t

st.title(t("nav.live"))

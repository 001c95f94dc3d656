"""The advertiser console (``adloom ui``; or ``streamlit run adloom/ui/app.py`` with ``ADLOOM_API_URL`` and
``ADLOOM_API_KEY`` set). One navigation, five pages; the first is the brief form."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from adloom.core.client import URL_ENV
from adloom.ui.conn import LOCAL_ENV, language_switch, t

# Not "pages/": Streamlit would list a folder of that name as its own navigation next to st.navigation.
PAGES = Path(__file__).resolve().parent / "views"

st.set_page_config(page_title="adloom", page_icon=":material/movie:", layout="wide")
st.sidebar.markdown(f"**{t('app.title')}**")
language_switch()
navigation = st.navigation(
    [
        st.Page(
            PAGES / "create.py", title=t("nav.create"), icon=":material/movie_edit:", url_path="create", default=True
        ),
        st.Page(PAGES / "live.py", title=t("nav.live"), icon=":material/live_tv:", url_path="live"),
        st.Page(PAGES / "reports.py", title=t("nav.reports"), icon=":material/monitoring:", url_path="reports"),
        st.Page(PAGES / "library.py", title=t("nav.library"), icon=":material/video_library:", url_path="library"),
        st.Page(PAGES / "leads.py", title=t("nav.leads"), icon=":material/support_agent:", url_path="leads"),
    ]
)
st.sidebar.caption(
    t("conn.mode_local") if os.environ.get(LOCAL_ENV) else t("conn.mode_remote", url=os.environ.get(URL_ENV, "?"))
)
navigation.run()

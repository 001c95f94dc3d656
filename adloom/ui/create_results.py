"""The lower half of the Create page: render the chosen scripts, follow the batch, review and export.

(Being built: the results helper replaces this module.)"""

from __future__ import annotations

import streamlit as st


def results_section(brief_id: str, script_ids: list[str]) -> None:
    """Render ``script_ids`` (stored scripts of ``brief_id``) and show the results grid."""
    st.info(f"render section pending ({brief_id}, {len(script_ids)} scripts)")

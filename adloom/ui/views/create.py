"""Console page: create ads — brief → pick the closest exemplar (or paste a script / an SRT) → its structured
script → variants → edit with compliance findings inline → render, review and export (``create_results``).

Stable widget keys (the end-to-end test and AppTest drive the page by these, and by the button labels in
``adloom/data/ui/create.yaml``, which stay the same per language):

* brief form ``create.brief_form``: ``create.f.name``, ``create.f.points`` (one per line), ``create.f.price``,
  ``create.f.currency``, ``create.f.offer``, ``create.f.audience``, ``create.f.industry``, ``create.f.platform``,
  ``create.f.language``, ``create.f.aspect``, ``create.f.duration``, ``create.f.images``, ``create.f.clips``;
  submit ``create.f.submit``
* exemplars: ``create.pick.<library item id>``; paste tab ``create.paste.text``, ``create.paste.srt``,
  ``create.paste.go``
* variants: ``create.n``, ``create.generate``; per variant ``create.render.<script id>`` (render it),
  ``create.edit.<script id>.<shot index>.<narration|caption|visual>``, ``create.fix.<script id>.<shot
  index>.<field>`` (apply the compliance fix), ``create.save.<script id>`` (save edits)

Session state (besides the widgets): ``create.brief_id``, ``create.brief``, ``create.uploads``, ``create.hits``,
``create.exemplar_id``, ``create.structured``, ``create.own_script``, ``create.variants``, ``create.checks``.
"""

import streamlit as st

from adloom.ui import create_script as cs
from adloom.ui.conn import t

st.title(t("nav.create"))
cs.brief_form()
brief = st.session_state.get("create.brief")
if brief:
    cs.exemplar_row(brief)
    structured = st.session_state.get("create.structured")
    if structured:
        cs.structured_view(structured)
        cs.variants_controls(brief["id"])
        cs.variant_tabs()
    variants = st.session_state.get("create.variants") or []
    if variants:
        pending = [i + 1 for i, s in enumerate(variants) if cs.unsaved(s)]
        if pending:
            st.warning(t("create.edit.unsaved", which=", ".join(map(str, pending))), icon=":material/edit_note:")
        chosen = cs.chosen_script_ids()
        if chosen:
            from adloom.ui.create_results import results_section

            results_section(brief["id"], chosen)
        else:
            st.info(t("create.variant.none_chosen"))
else:
    st.caption(t("create.brief.first"))

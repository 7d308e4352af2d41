"""A container at the very top of every page, for the page's background reporters.

Why: a fragment rerun (a heartbeat, an autosave) that is in flight when a full rerun
replaces the page (logging out, the last item submitted) may deliver its elements
after the new page's: Streamlit's frontend then applies them at their old position,
and a position beyond the end of the new, shorter page crashes the whole page ("Bad
delta path index"), leaving it blank. A container that is the first element of every
page (the login screen included) keeps those positions valid: a late delta lands in
it and is cleared by the next run.
"""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

_KEY = "_evals_top_slot"


def make_top_slot() -> None:
    """Create this run's top container (call first, in the entry point)."""
    st.session_state[_KEY] = st.container()


def top_slot() -> DeltaGenerator:
    """This run's top container (a new container when the entry point made none)."""
    slot = st.session_state.get(_KEY)
    return slot if isinstance(slot, DeltaGenerator) else st.container()

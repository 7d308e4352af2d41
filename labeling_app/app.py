"""The labeling app's entry point: `streamlit run labeling_app/app.py` (or `evals label`).

Pages depend on the role: reviewers see Review; leads and admins also see Queues,
Dashboard and Audit. Each page checks the role itself too, so a reviewer who types a
lead page's address gets nothing. While nobody is logged in the entry point shows the
login form instead of any page.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from labeling_app.components.safe import plain_label
from labeling_app.login import render_login
from labeling_app.session import current_identity, log_out

# Not "pages/": Streamlit treats a pages/ folder beside the entry script as an old-style
# multipage app, which conflicts with st.navigation.
HERE = Path(__file__).parent / "views"

st.set_page_config(page_title="Agent review", page_icon=":material/fact_check:", layout="wide")

identity = current_identity()
pages = [st.Page(HERE / "review.py", title="Review", icon=":material/rate_review:", default=True)]
pages.append(
    st.Page(HERE / "whole_review.py", title="Whole review", url_path="whole-review",
            icon=":material/account_tree:")
)  # fmt: skip
# Logged out, every page is registered (hidden, never run) so that the address a person
# opened, e.g. /dashboard, is where they land after logging in.
if identity is None or identity.is_lead:
    pages += [
        st.Page(HERE / "queues.py", title="Queues", url_path="queues", icon=":material/list_alt:"),
        st.Page(
            HERE / "dashboard.py",
            title="Dashboard",
            url_path="dashboard",
            icon=":material/monitoring:",
        ),
        st.Page(HERE / "audit.py", title="Audit", url_path="audit", icon=":material/policy:"),
    ]
page = st.navigation(pages, position="hidden" if identity is None else "sidebar")
if identity is None:
    render_login()
    st.stop()
with st.sidebar:
    st.markdown(f"Logged in as **{plain_label(identity.name)}** ({plain_label(identity.role)})")
    if st.button("Log out", key="logout", icon=":material/logout:"):
        log_out()
        st.rerun()
page.run()

"""The labeling app's entry point: `streamlit run labeling_app/app.py` (or `evals label`).

Pages depend on the role: reviewers see Review, Whole review and My labels; leads and
admins also see Queues, Trials, Disagreements, Dashboard and Audit. Each page checks the
role itself too, so a reviewer who types a lead page's address gets nothing. While
nobody is logged in the entry point shows the login form instead of any page.

Nothing is fetched from the network: the favicon is a local file (a ``:material/...:``
page icon would make the browser fetch it from fonts.gstatic.com), and `evals label`
turns off usage statistics.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from labeling_app.auth.tokens import session_hours
from labeling_app.components.cookie import set_cookie
from labeling_app.components.safe import plain_label
from labeling_app.components.slots import make_top_slot
from labeling_app.login import render_login
from labeling_app.session import TOKEN_KEY, current_identity, log_out

# Not "pages/": Streamlit treats a pages/ folder beside the entry script as an old-style
# multipage app, which conflicts with st.navigation.
HERE = Path(__file__).parent / "views"
FAVICON = Path(__file__).parent / "assets" / "favicon.png"

st.set_page_config(page_title="Agent review", page_icon=str(FAVICON), layout="wide")
make_top_slot()  # first element of every page: see labeling_app.components.slots

identity = current_identity()
pages = [
    st.Page(HERE / "review.py", title="Review", icon=":material/rate_review:", default=True),
    st.Page(
        HERE / "whole_review.py",
        title="Whole review",
        url_path="whole-review",
        icon=":material/account_tree:",
    ),
    st.Page(HERE / "history.py", title="My labels", url_path="history", icon=":material/history:"),
]
# Logged out, every page is registered (hidden, never run) so that the address a person
# opened, e.g. /dashboard, is where they land after logging in.
if identity is None or identity.is_lead:
    pages += [
        st.Page(HERE / "queues.py", title="Queues", url_path="queues", icon=":material/list_alt:"),
        st.Page(HERE / "trials.py", title="Trials", url_path="trials", icon=":material/search:"),
        st.Page(
            HERE / "adjudicate.py",
            title="Disagreements",
            url_path="disagreements",
            icon=":material/gavel:",
        ),
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
token = st.session_state.get(TOKEN_KEY)
if isinstance(token, str):
    set_cookie(token, int(session_hours() * 3600))
with st.sidebar:
    st.markdown(f"Logged in as **{plain_label(identity.name)}** ({plain_label(identity.role)})")
    # A callback: the session ends before the next run starts, so that run (and no
    # fragment of the old page) sees the logged-in session.
    st.button("Log out", key="logout", icon=":material/logout:", on_click=log_out)
page.run()

"""The login screen: Streamlit's OIDC login when configured, and the local roster.

Rendered by the entry point (not a page of its own) while nobody is logged in, so the
address the person opened stays the page they land on after logging in."""

from __future__ import annotations

import time

import streamlit as st

from labeling_app.auth import authenticate
from labeling_app.session import config, log_in, oidc_configured, roster


def render_login() -> None:
    """The login form (and the SSO button when OIDC is configured)."""
    st.title("Agent review")
    st.write("Log in to review agent answers.")

    if oidc_configured():
        if st.button("Log in with single sign-on", key="oidc_login", type="primary"):
            st.login()
        if getattr(st.user, "is_logged_in", False):
            st.error("Your account is not on this app's roster; ask a lead to add you.")

    people = roster()
    if people is None:
        if not oidc_configured():
            st.error(
                f"No roster file at {config().roster}: start the app with --roster, or "
                "add people with `evals label roster add USER --role reviewer`."
            )
        st.stop()

    if any(u.password_hash for u in people.users):
        with st.form("login", border=True):
            user = st.text_input("User", key="login_user", autocomplete="username")
            password = st.text_input(
                "Password", type="password", key="login_password", autocomplete="current-password"
            )
            submitted = st.form_submit_button("Log in", type="primary")
        if submitted:
            identity = authenticate(people, user, password)
            if identity is None:
                time.sleep(1.0)  # slows down guessing
                st.error("Unknown user or wrong password.")
            else:
                log_in(identity)
                st.rerun()

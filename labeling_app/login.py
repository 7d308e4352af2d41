"""The login screen: Streamlit's OIDC login when configured, and the local roster.

Rendered by the entry point (not a page of its own) while nobody is logged in, so the
address the person opened stays the page they land on after logging in.

Failed logins are throttled per user id and per client across every session and app
process (`labeling_app.auth.throttle`): same message and same time for known and unknown
ids."""

from __future__ import annotations

import time

import streamlit as st

from labeling_app.auth.roster import Identity, Roster, authenticate
from labeling_app.auth.throttle import LoginThrottle, pad
from labeling_app.components.cookie import clear_cookie
from labeling_app.session import LOGGED_OUT_KEY, config, log_in, oidc_configured, roster


def client_address() -> str:
    """The client's address as Streamlit sees it (behind a proxy: the proxy's)."""
    try:
        return str(st.context.ip_address or "unknown")
    except Exception:  # no request context (AppTest)
        return "unknown"


def try_login(people: Roster, user: str, password: str) -> tuple[Identity | None, str | None]:
    """Check a roster login under the throttle; a refusal always takes the same time."""
    started = time.monotonic()
    outcome = LoginThrottle(config().workspace).attempt(
        user, client_address(), lambda: authenticate(people, user, password)
    )
    if isinstance(outcome.result, Identity):
        return outcome.result, None
    pad(started)
    return None, outcome.message


def render_login() -> None:
    """The login form (and the SSO button when OIDC is configured)."""
    clear_cookie()  # logged out (or the cookie was stale): the browser forgets it
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
            identity, refusal = try_login(people, user, password)
            if identity is None:
                st.error(refusal or "Unknown user or wrong password.")
            else:
                log_in(identity)
                st.rerun()
    if st.session_state.get(LOGGED_OUT_KEY):
        st.caption("You are logged out.")

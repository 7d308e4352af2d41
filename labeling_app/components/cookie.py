"""Setting and clearing the session cookie from the page.

Streamlit reads cookies (``st.context.cookies``) but offers no way to set one from a
script, so this components-v2 component (no iframe: it runs in the app page, on the
app's origin) writes ``document.cookie``. The token is the only thing it writes; it is
built on the server (`labeling_app.auth.tokens`) and never appears in a URL.
"""

from __future__ import annotations

import streamlit as st

from labeling_app.auth.tokens import COOKIE

_JS = """
export default function (component) {
  const { data } = component;
  const name = data.name;
  if (data.token) {
    const secure = window.location.protocol === "https:" ? "; Secure" : "";
    const attrs = `path=/; max-age=${data.max_age}; SameSite=Strict${secure}`;
    document.cookie = `${name}=${data.token}; ${attrs}`;
  } else if (data.clear) {
    document.cookie = `${name}=; path=/; max-age=0; SameSite=Strict`;
  }
}
"""

_component = st.components.v2.component("evals_session_cookie", js=_JS)


def set_cookie(token: str, max_age_s: int) -> None:
    """Give the browser the session token (idempotent: mounted on every run)."""
    _component(
        key="evals_cookie_set", data={"name": COOKIE, "token": token, "max_age": int(max_age_s)}
    )


def clear_cookie() -> None:
    """Remove the session cookie from the browser."""
    _component(key="evals_cookie_clear", data={"name": COOKIE, "clear": True})

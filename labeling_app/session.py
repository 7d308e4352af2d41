"""What the pages share: the workspace handles (one per process) and who is logged in.

Shared handles live in ``st.cache_resource`` (one Workspace, record index and queue
service per workspace folder, shared by every session). The session holds only the
identity of the logged-in person; everything else a page needs is re-read from the
store on every run, so a reload or a restart loses nothing that was submitted.

A reload starts a new Streamlit session: the login survives it through a signed,
expiring session cookie (`labeling_app.auth.tokens`), checked on the first run of the new
session; the role is re-read from the roster then.
"""

from __future__ import annotations

import atexit
import contextlib
from pathlib import Path

import streamlit as st

from evals.store.workspace import Workspace
from labeling_app.auth.roster import Identity, Roster, RosterError, load_roster, oidc_identity
from labeling_app.auth.tokens import COOKIE, check_token, create_session, end_session, purge_expired
from labeling_app.config import AppConfig
from labeling_app.queues.pg import service_for
from labeling_app.queues.service import QueueService

IDENTITY_KEY = "identity"
TOKEN_KEY = "session_token"
LOGGED_OUT_KEY = "logged_out"


@st.cache_resource(show_spinner=False)
def _service(root: str) -> QueueService:
    ws = Workspace(Path(root))
    # Seal this process's segments on a clean shutdown (a crash leaves them unsealed,
    # which readers and `evals audit verify` accept).
    atexit.register(ws.close, compact=False)
    return service_for(ws)  # the local folder, or PostgreSQL when EVALS_QUEUE_DB is set


def config() -> AppConfig:
    """The app's configuration (from the environment)."""
    return AppConfig.from_env()


def service() -> QueueService:
    """The process-wide queue service of the configured workspace."""
    return _service(str(config().workspace))


def roster() -> Roster | None:
    """The roster (re-read each time: leads may add people while the app runs)."""
    path = config().roster
    if not path.exists():
        return None
    try:
        return load_roster(path)
    except RosterError as exc:
        st.error(str(exc))
        return None


def oidc_configured() -> bool:
    """Whether ``.streamlit/secrets.toml`` has an ``[auth]`` section."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, RuntimeError):
        return False
    except Exception:  # a malformed secrets file: behave as not configured
        return False


def _cookie_identity() -> Identity | None:
    """The person of a valid session cookie (roster users still on the roster)."""
    if st.session_state.get(LOGGED_OUT_KEY):
        return None  # the cookie sent with this page load was just ended
    try:
        token = st.context.cookies.get(COOKIE)
    except Exception:  # no request context (e.g. under AppTest)
        return None
    found = check_token(config().workspace, token)
    people = roster() if found is not None else None
    user = people.user(found.user) if found is not None and people is not None else None
    if found is None or user is None or found.method != "roster":
        return None
    st.session_state[TOKEN_KEY] = token
    return Identity(user.id, user.name or user.id, user.role, "roster")


def current_identity() -> Identity | None:
    """The logged-in person: from the session, the session cookie (after a reload) or
    Streamlit's OIDC user."""
    ident = st.session_state.get(IDENTITY_KEY)
    if isinstance(ident, Identity):
        return ident
    ident = _cookie_identity()
    if ident is not None:
        st.session_state[IDENTITY_KEY] = ident
        return ident
    if oidc_configured() and getattr(st.user, "is_logged_in", False):
        claims = {k: st.user.get(k) for k in ("email", "sub", "name")}
        text = {k: v if isinstance(v, str) else None for k, v in claims.items()}
        found = oidc_identity(roster(), text["email"], text["sub"], text["name"])
        if found is not None:
            st.session_state[IDENTITY_KEY] = found
        return found
    return None


def log_in(identity: Identity) -> None:
    """Remember the logged-in person for this browser session, and start a login
    session whose cookie keeps them logged in across reloads (roster logins; OIDC has
    Streamlit's own cookie)."""
    st.session_state[IDENTITY_KEY] = identity
    st.session_state.pop(LOGGED_OUT_KEY, None)
    if identity.method == "roster":
        purge_expired(config().workspace)  # logins are rare: a good time to tidy up
        st.session_state[TOKEN_KEY] = create_session(config().workspace, identity.id, "roster")


def log_out() -> None:
    """Forget the session's identity, end the login session (its cookie is dead from now
    on) and end the OIDC session when there is one."""
    ident = st.session_state.pop(IDENTITY_KEY, None)
    end_session(config().workspace, st.session_state.get(TOKEN_KEY))
    with contextlib.suppress(Exception):  # no request context (AppTest)
        end_session(config().workspace, st.context.cookies.get(COOKIE))
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state[LOGGED_OUT_KEY] = True
    if isinstance(ident, Identity) and ident.method == "oidc":
        st.logout()


def require_identity(lead: bool = False) -> Identity:
    """The logged-in person, or stop the page (not logged in, or not a lead)."""
    ident = current_identity()
    if ident is None:
        st.warning("Please log in.")
        st.stop()
    if lead and not ident.is_lead:
        st.error("This page is for leads and admins.")
        st.stop()
    return ident

"""Who is reviewing: the roster, login sessions that survive a reload, login throttling.

* `roster`: a local roster with salted scrypt hashes, or Streamlit's OIDC; roles;
* `tokens`: a signed, expiring session token in a cookie;
* `throttle`: login throttling per user and per client, shared by every app process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evals.lazy import lazy_exports

if TYPE_CHECKING:
    from labeling_app.auth.roster import (
        Identity,
        Roster,
        RosterError,
        RosterUser,
        add_user,
        authenticate,
        hash_password,
        load_roster,
        oidc_identity,
        save_roster,
        verify_password,
    )
    from labeling_app.auth.throttle import (
        Attempt,
        LoginThrottle,
        pad,
    )
    from labeling_app.auth.tokens import (
        LoginSession,
        app_dir,
        check_token,
        create_session,
        end_session,
        purge_expired,
        session_hours,
        signing_key,
    )

# Names resolve lazily (evals.lazy): importing the package runs none of its modules.
_EXPORTS: dict[str, str] = {
    "Attempt": "labeling_app.auth.throttle",
    "Identity": "labeling_app.auth.roster",
    "LoginSession": "labeling_app.auth.tokens",
    "LoginThrottle": "labeling_app.auth.throttle",
    "Roster": "labeling_app.auth.roster",
    "RosterError": "labeling_app.auth.roster",
    "RosterUser": "labeling_app.auth.roster",
    "add_user": "labeling_app.auth.roster",
    "app_dir": "labeling_app.auth.tokens",
    "authenticate": "labeling_app.auth.roster",
    "check_token": "labeling_app.auth.tokens",
    "create_session": "labeling_app.auth.tokens",
    "end_session": "labeling_app.auth.tokens",
    "hash_password": "labeling_app.auth.roster",
    "load_roster": "labeling_app.auth.roster",
    "oidc_identity": "labeling_app.auth.roster",
    "pad": "labeling_app.auth.throttle",
    "purge_expired": "labeling_app.auth.tokens",
    "save_roster": "labeling_app.auth.roster",
    "session_hours": "labeling_app.auth.tokens",
    "signing_key": "labeling_app.auth.tokens",
    "verify_password": "labeling_app.auth.roster",
}

__all__ = [
    "Attempt",
    "Identity",
    "LoginSession",
    "LoginThrottle",
    "Roster",
    "RosterError",
    "RosterUser",
    "add_user",
    "app_dir",
    "authenticate",
    "check_token",
    "create_session",
    "end_session",
    "hash_password",
    "load_roster",
    "oidc_identity",
    "pad",
    "purge_expired",
    "save_roster",
    "session_hours",
    "signing_key",
    "verify_password",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

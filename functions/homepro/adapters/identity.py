"""The Identity port on Firebase Auth (firebase-admin)."""

from __future__ import annotations

import firebase_admin
from firebase_admin import auth

from homepro.domain.errors import NotFound
from homepro.domain.models import Role


class FirebaseIdentity:
    def __init__(self, app: firebase_admin.App) -> None:
        self._app = app

    def uid_for_email(self, email: str) -> str:
        try:
            return str(auth.get_user_by_email(email, app=self._app).uid)
        except auth.UserNotFoundError:
            raise NotFound(f"no account with the email {email}") from None

    def set_role_claim(self, uid: str, role: Role) -> None:
        user = auth.get_user(uid, app=self._app)
        claims = dict(user.custom_claims or {})
        claims["role"] = role.value
        auth.set_custom_user_claims(uid, claims, app=self._app)

    def revoke_sessions(self, uid: str) -> None:
        auth.revoke_refresh_tokens(uid, app=self._app)

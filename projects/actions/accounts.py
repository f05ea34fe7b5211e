from __future__ import annotations

from rest_framework.authtoken.models import Token


def do_issue_token(user) -> str:
    """The user's API token, made on first use (DRF's Token table: one per user, until deleted)."""
    token, _ = Token.objects.get_or_create(user=user)
    return token.key

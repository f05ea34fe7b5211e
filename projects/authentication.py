"""API token authentication: DRF's TokenAuthentication, with the token's look-up as plain SQL.

Every API request runs it. DRF's ``Token.objects.select_related("user").get(key=key)``
costs about half a millisecond of CPU in the ORM for one indexed join; the same query
through ``User.objects.raw`` costs a third of that. Same rules: an unknown key or an
inactive user is a 401 with DRF's messages.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from projects.sql import column, table


@cache
def _sql() -> str:
    user = get_user_model()
    return (f"SELECT u.*, {column(Token, 'created', 't')} AS token_created FROM {table(user)} u "
            f"INNER JOIN {table(Token)} t ON {column(Token, 'user', 't')} = {column(user, 'pk', 'u')} "
            f"WHERE {column(Token, 'key', 't')} = %s")


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key):
        user = next(iter(get_user_model().objects.raw(_sql(), [key])), None)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return user, Token(key=key, user=user, created=user.token_created)

"""API tokens that expire (settings.API_TOKEN_DAYS), are ended by a new password (mtm.models.User),
and are never given to patient users (their door is the portal)."""

import datetime

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token


def token_expired(token: Token) -> bool:
    return token.created < timezone.now() - datetime.timedelta(days=settings.API_TOKEN_DAYS)


class ExpiringTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token_expired(token):
            token.delete()
            raise exceptions.AuthenticationFailed(
                "Token expired: ask for a new one (POST /api/v1/auth/token/)."
            )
        if user.is_patient_user:
            raise exceptions.AuthenticationFailed("Patient accounts use the portal, not the API.")
        return user, token


def token_for(user) -> Token:
    """The user's token, a new one when the old has expired."""
    token, created = Token.objects.get_or_create(user=user)
    if not created and token_expired(token):
        token.delete()
        token = Token.objects.create(user=user)
    return token

from django.contrib.auth.forms import PasswordResetForm
from django.db import transaction

from mtm.tasks import send_password_reset_email


class QueuedPasswordResetForm(PasswordResetForm):
    """Sends the reset email from a Celery worker, once the request's transaction has committed."""

    def save(self, domain_override=None, use_https=False, request=None, **kwargs):
        base_url = f"{'https' if use_https else 'http'}://{domain_override or request.get_host()}"
        for user in self.get_users(self.cleaned_data["email"]):
            user_id = str(user.pk)
            transaction.on_commit(lambda user_id=user_id: send_password_reset_email.delay(user_id, base_url))

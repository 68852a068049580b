"""An email backend for the integration tests: files, as the file backend writes them, a few tenths
of a second per message (what a real mail server takes), so that a worker can be killed mid-pass."""

import time

from django.core.mail.backends.filebased import EmailBackend


class SlowFileBackend(EmailBackend):
    def send_messages(self, email_messages):
        time.sleep(0.3)
        return super().send_messages(email_messages)

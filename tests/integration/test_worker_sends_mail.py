import time

import pytest
from django.urls import reverse

from tests.integration.conftest import messages_in, wait_for_messages

pytestmark = pytest.mark.integration


def test_password_reset_email_is_sent_once_by_a_real_worker(client, pharmacist, celery_worker):
    response = client.post(reverse("password_reset"), {"email": pharmacist.email})
    assert response.status_code == 302

    messages = wait_for_messages(celery_worker.mail_dir, 1)
    assert len(messages) == 1, celery_worker.log.read_text()
    assert f"To: {pharmacist.email}" in messages[0]
    assert "/account/password/reset/" in messages[0]
    time.sleep(2)  # nothing more arrives: the task ran once
    assert len(messages_in(celery_worker.mail_dir)) == 1

import time

import pytest
from django.urls import reverse

from tests.integration.conftest import wait_for_files

pytestmark = pytest.mark.integration


def test_password_reset_email_is_sent_once_by_a_real_worker(client, pharmacist, celery_worker):
    response = client.post(reverse("password_reset"), {"email": pharmacist.email})
    assert response.status_code == 302

    files = wait_for_files(celery_worker.mail_dir, 1)
    assert len(files) == 1, celery_worker.log.read_text()
    message = files[0].read_text()
    assert f"To: {pharmacist.email}" in message
    assert "/account/password/reset/" in message
    time.sleep(2)  # nothing more arrives: the task ran once
    assert len(list(celery_worker.mail_dir.iterdir())) == 1

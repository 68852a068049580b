"""Text messages behind a small backend interface, chosen by settings.SMS_BACKEND (a dotted path):
`FileBackend` (default: one file per message under var/sms/, nothing leaves the machine) and
`MemoryBackend` (tests). A real provider plugs in with the same `send(to, body, key)`; `key` is the
reminder's own id, for providers that drop a repeated message."""

import functools
import uuid
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string


class SmsError(Exception):
    """The provider refused or failed; the reminder is retried later."""


class FileBackend:
    def __init__(self, directory: str | None = None):
        self.directory = Path(directory or settings.SMS_FILE_PATH)

    def send(self, *, to: str, body: str, key: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{key}-{uuid.uuid4().hex[:8]}.txt"
        path.write_text(f"To: {to}\nKey: {key}\n\n{body}\n", encoding="utf-8")


class MemoryBackend:
    outbox: list[dict] = []

    def send(self, *, to: str, body: str, key: str) -> None:
        MemoryBackend.outbox.append({"to": to, "body": body, "key": key})


@functools.cache
def _backend_class(path: str):
    return import_string(path)


def send_sms(*, to: str, body: str, key: str) -> None:
    _backend_class(settings.SMS_BACKEND)().send(to=to, body=body, key=key)

from django.apps import AppConfig


class MtmConfig(AppConfig):
    name = "mtm"
    verbose_name = "MTM: users, organisations and audit"

    def ready(self) -> None:
        from mtm import signals  # noqa: F401  (sign-in events go to the audit trail)

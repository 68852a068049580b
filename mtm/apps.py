from django.apps import AppConfig


class MtmConfig(AppConfig):
    name = "mtm"
    verbose_name = "MTM: users, organisations and audit"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from mtm import signals  # noqa: F401  (sign-in events go to the audit trail)
        from mtm.audit import ensure_audit_append_only

        post_migrate.connect(ensure_audit_append_only, sender=self)

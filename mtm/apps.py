from django.apps import AppConfig


class MtmConfig(AppConfig):
    name = "mtm"
    verbose_name = "MTM: users, organisations and audit"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate

        from mtm import second_factor, signals  # noqa: F401  (sign-in events go to the audit trail)
        from mtm.audit import ensure_audit_append_only, sqlite_audit_function

        post_migrate.connect(ensure_audit_append_only, sender=self)
        connection_created.connect(sqlite_audit_function)

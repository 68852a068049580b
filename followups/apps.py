from django.apps import AppConfig


class FollowupsConfig(AppConfig):
    """Follow-ups, scheduling and reminders."""

    name = "followups"

    def ready(self):
        from followups import receivers  # noqa: F401 - connects the review workflow's signals

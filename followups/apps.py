from django.apps import AppConfig


class FollowupsConfig(AppConfig):
    """Follow-ups, scheduling and reminders (issue 6)."""

    name = "followups"

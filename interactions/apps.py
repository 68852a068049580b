from django.apps import AppConfig


class InteractionsConfig(AppConfig):
    """Drug knowledge base and screening engine (issue 3)."""

    name = "interactions"

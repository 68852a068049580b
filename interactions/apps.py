from django.apps import AppConfig


class InteractionsConfig(AppConfig):
    """Drug knowledge base and screening engine (issue 3)."""

    name = "interactions"

    def ready(self) -> None:
        from interactions import checks  # noqa: F401  (the knowledge base is validated at start)

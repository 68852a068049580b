from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    """Comprehensive and targeted medication reviews (issue 4)."""

    name = "reviews"

    def ready(self):
        from reviews import receivers  # noqa: F401 - eligibility and measures follow imports

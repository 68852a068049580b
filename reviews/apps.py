from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    """Comprehensive and targeted medication reviews (issue 4)."""

    name = "reviews"

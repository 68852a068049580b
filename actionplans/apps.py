from django.apps import AppConfig


class ActionplansConfig(AppConfig):
    """Patient action plans, medication lists and their issued PDFs (issue 5)."""

    name = "actionplans"

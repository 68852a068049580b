from django.apps import AppConfig


class PatientsConfig(AppConfig):
    """The patient record: demographics, allergies, conditions, care team, medications, labs, fills."""

    name = "patients"

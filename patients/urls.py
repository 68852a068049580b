import re

from django.urls import include, path, register_converter

from patients import views
from patients.sections import SECTIONS


class SectionConverter:
    regex = "|".join(re.escape(slug) for slug in SECTIONS)  # the page's sections, and nothing else

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(SectionConverter, "section")

urlpatterns = [
    path("", include("patients.interop.urls")),
    path("patients/", views.patient_list, name="patient_list"),
    path("patients/new/", views.patient_create, name="patient_create"),
    path("patients/<uuid:patient_id>/", views.patient_detail, name="patient_detail"),
    path("patients/<uuid:patient_id>/details/", views.patient_details, name="patient_details"),
    path("patients/<uuid:patient_id>/history/", views.patient_history, name="patient_history"),
    path("patients/<uuid:patient_id>/screening/", views.patient_screening, name="patient_screening"),
    path(
        "patients/<uuid:patient_id>/screening/finding/",
        views.finding_explanation,
        name="finding_explanation",
    ),
    path("patients/<uuid:patient_id>/<section:section_slug>/", views.section_show, name="section_show"),
    path("patients/<uuid:patient_id>/<section:section_slug>/add/", views.section_add, name="section_add"),
    path(
        "patients/<uuid:patient_id>/<section:section_slug>/<uuid:record_id>/edit/",
        views.section_edit,
        name="section_edit",
    ),
    path(
        "patients/<uuid:patient_id>/<section:section_slug>/<uuid:record_id>/end/",
        views.section_end,
        name="section_end",
    ),
    path("icd10/options/", views.icd10_options, name="icd10_options"),
    path("medications/names/", views.medication_names, name="medication_names"),
    path("prescribers/", views.prescriber_list, name="prescriber_list"),
    path("prescribers/<uuid:prescriber_id>/", views.prescriber_edit, name="prescriber_edit"),
    path("audit/", views.audit_log, name="audit_log"),
]

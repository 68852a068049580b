from django.urls import path

from patients.interop import views

urlpatterns = [
    path("patients/imports/", views.import_list, name="fhir_import_list"),
    path("patients/imports/<uuid:import_id>/", views.import_detail, name="fhir_import_detail"),
    path("patients/imports/<uuid:import_id>/decide/", views.import_decide, name="fhir_import_decide"),
    path(
        "patients/imports/<uuid:import_id>/patients/<uuid:import_patient_id>/confirm/",
        views.import_confirm,
        name="fhir_import_confirm",
    ),
    path("patients/<uuid:patient_id>/import/", views.patient_import, name="fhir_import_for_patient"),
    path("patients/fill-imports/", views.fill_import_list, name="fill_import_list"),
    path("patients/fill-imports/<uuid:import_id>/", views.fill_import_detail, name="fill_import_detail"),
    path(
        "patients/fill-imports/<uuid:import_id>/errors.csv",
        views.fill_import_errors,
        name="fill_import_errors",
    ),
    path("patients/<uuid:patient_id>/fhir/", views.patient_record_fhir, name="patient_record_fhir"),
    path("portal/my-record.json", views.portal_record_fhir, name="portal_record_fhir"),
]

from django.contrib import admin

from patients.models import Patient, Prescriber


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["last_name", "first_name", "date_of_birth", "organisation"]
    list_filter = ["organisation"]
    search_fields = ["last_name", "first_name"]
    readonly_fields = ["version"]


@admin.register(Prescriber)
class PrescriberAdmin(admin.ModelAdmin):
    list_display = ["last_name", "first_name", "npi", "specialty", "organisation"]
    list_filter = ["organisation"]

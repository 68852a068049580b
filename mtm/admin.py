"""Django admin is for the people who run the installation (superusers); organisation admins
work in the app itself."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from mtm.models import AuditEvent, Organisation, User


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "phone"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "get_full_name", "organisation", "role", "is_active"]
    list_filter = ["organisation", "role", "is_active"]
    fieldsets = [*BaseUserAdmin.fieldsets, ("Organisation", {"fields": ["organisation", "role"]})]
    add_fieldsets = [
        *BaseUserAdmin.add_fieldsets,
        ("Organisation", {"fields": ["organisation", "role", "email"]}),
    ]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_username", "action", "object_type", "patient_id", "ip_address", "via"]
    list_filter = ["action", "via", "organisation"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

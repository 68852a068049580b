"""What changes on a patient's record that other apps act on. Sent inside the service's transaction."""

from django.dispatch import Signal

# The patient's agreement to reminders, or where they go, changed (followups reschedules them).
reminder_contact_changed = Signal()  # patient, by

REMINDER_CONTACT_FIELDS = (
    "consent_email_reminders", "consent_sms_reminders", "email", "representative_email", "mobile_phone",
)  # fmt: skip

# An import wrote fills or clinical data for some of the organisation's patients (reviews works out
# their eligibility and quality measures again). Sent after the import's transactions committed.
clinical_data_imported = Signal()  # organisation_id

"""What changes on a patient's record that other apps act on. Sent inside the service's transaction."""

from django.dispatch import Signal

# The patient's agreement to reminders, or where they go, changed (followups reschedules them).
reminder_contact_changed = Signal()  # patient, by

REMINDER_CONTACT_FIELDS = (
    "consent_email_reminders", "consent_sms_reminders", "email", "representative_email", "mobile_phone",
)  # fmt: skip

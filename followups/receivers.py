"""Automatic follow-ups: what the review workflow's signals start, and reminders kept in step with
what the patient agreed to (connected in apps.py)."""

from django.dispatch import receiver

from followups import services, tasks
from mtm import signals as mtm_signals
from mtm.outbox import enqueue
from patients import signals as patient_signals
from reviews import signals


@receiver(signals.review_completed)
def review_completed(sender, review, by, **kwargs):
    services.after_review_completed(review=review, by=by)


@receiver(signals.recommendations_sent)
def recommendations_sent(sender, recommendations, by, **kwargs):
    services.after_recommendations_sent(recommendations=recommendations, by=by)


@receiver(signals.summary_delivered)
def summary_delivered(sender, review, by, **kwargs):
    services.after_summary_delivered(review=review, by=by)


@receiver(patient_signals.reminder_contact_changed)
def reminder_contact_changed(sender, patient, by, **kwargs):
    services.reminders_resync(patient=patient)


@receiver(mtm_signals.reminder_settings_changed)
def reminder_settings_changed(sender, organisation, **kwargs):
    """Possibly thousands of follow-ups: a task, queued with the change (kept if the broker is down)."""
    enqueue(tasks.reschedule_reminders, str(organisation.pk))

"""Automatic follow-ups: what the review workflow's signals start (connected in apps.py)."""

from django.dispatch import receiver

from followups import services
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

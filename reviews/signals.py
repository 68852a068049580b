"""What happens in a review that other apps act on (followups schedules what comes next). Sent
inside the service's transaction, so that what a receiver creates commits or rolls back with it."""

from django.dispatch import Signal

review_completed = Signal()  # review, by
recommendations_sent = Signal()  # recommendations, by
summary_delivered = Signal()  # review, by

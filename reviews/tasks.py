from celery import shared_task

from reviews.letters import prescriber_letter_pdf, prescribers_written_to
from reviews.models import Review


@shared_task(name="reviews.tasks.prepare_prescriber_letters")
def prepare_prescriber_letters(review_id: str) -> int:
    """After a review is completed: its letters rendered and kept, so that downloading one (to fax
    it) does not wait for WeasyPrint. Returns how many letters there are."""
    review = Review.objects.select_related("patient", "organisation", "pharmacist").get(pk=review_id)
    today = review.organisation.today()  # as on its pages
    prescribers = prescribers_written_to(review)
    for prescriber in prescribers:
        prescriber_letter_pdf(review=review, prescriber=prescriber, today=today)
    return len(prescribers)

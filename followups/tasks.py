from celery import shared_task

from followups.dispatch import run_pass
from followups.services import reminders_resync


@shared_task(name="followups.tasks.send_due_reminders")
def send_due_reminders() -> dict:
    """Celery beat runs this every minute; `manage.py send_due_reminders` runs the same pass."""
    result = run_pass()
    return {"sent": result.sent, "retrying": result.retrying, "failed": result.failed}


@shared_task
def reschedule_reminders(organisation_id: str) -> int:
    """After the organisation changed its reminder times or time zone."""
    return reminders_resync(organisation_id=organisation_id)

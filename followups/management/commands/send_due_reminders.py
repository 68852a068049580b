from django.core.management.base import BaseCommand

from followups.dispatch import run_pass


class Command(BaseCommand):
    help = "Send the reminders that are due now, once each (the same pass Celery beat runs every minute)."

    def handle(self, *args, **options):
        result = run_pass()
        self.stdout.write(
            f"Sent {result.sent}, to retry {result.retrying}, failed {result.failed}, "
            f"cancelled {result.cancelled}, interrupted earlier {result.interrupted}."
        )
        if result.failed or result.interrupted:
            self.stderr.write("Some reminders failed: see the follow-up queue.")

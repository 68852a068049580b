"""What `python3.11 dev.py run` does before it starts the app, in one process: each manage.py start
costs about a second (Django, the system checks, the knowledge base), the work itself a fraction of
that when there is nothing to do."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Migrate, load the demo data and link medication entries with the current knowledge base."

    def handle(self, *args, **options):
        # Each step finds for itself what is left to do, so that a pull bringing migrations, demo data
        # or a new knowledge base version is applied on the next start: migrate applies only what is
        # missing, seed_demo creates only what is not there, relink_medications checks only entries
        # linked with an older knowledge base version.
        call_command("migrate", interactive=False, verbosity=0, skip_checks=True)
        call_command("seed_demo", skip_checks=True)
        call_command("relink_medications", skip_checks=True)
        # Celery beat keeps its schedule there; with PostgreSQL and Redis nothing else creates it.
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)

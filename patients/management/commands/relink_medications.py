"""After the drug knowledge base changes: link every medication entry to what its name means now."""

from django.core.management.base import BaseCommand

from interactions.selectors import knowledge_base
from patients.models import MedicationEntry
from patients.services import medication_link


class Command(BaseCommand):
    help = "Re-link medication entries to ingredients with the current drug knowledge base."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="also entries linked with the current version")

    def handle(self, *args, all=False, **options):
        version = knowledge_base().version
        entries = (
            MedicationEntry.objects.all()
            if all
            else MedicationEntry.objects.exclude(knowledge_base_version=version)
        )
        changed = checked = 0
        for entry in entries.only(
            "id", "name", "ingredients", "recognised_as", "knowledge_base_version"
        ).iterator(2000):
            checked += 1
            changed += medication_link(entry)
        self.stdout.write(
            f"Checked {checked} medication entries against knowledge base {version}; {changed} changed."
        )

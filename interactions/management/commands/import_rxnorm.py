from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from interactions.engine import load_knowledge_base
from interactions.engine.knowledge import KNOWLEDGE_DIR
from interactions.rxnorm import RxNormFilesError, read_rxnorm, write_extra_dictionary


class Command(BaseCommand):
    help = (
        "Extend the drug dictionary from RxNorm RRF files (RXNCONSO.RRF; RXNREL.RRF to link brand, combination "
        "and product names to their ingredients; RXNSAT.RRF for NDCs). Writes under the first KNOWLEDGE_EXTRA_DIRS folder."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", help="the rrf/ folder of an RxNorm release")

    def handle(self, *args, folder, **options):
        try:
            imported = read_rxnorm(Path(folder))
        except RxNormFilesError as error:
            raise CommandError(str(error)) from None
        target = Path(settings.KNOWLEDGE_EXTRA_DIRS[0])
        counts = write_extra_dictionary(imported, load_knowledge_base(KNOWLEDGE_DIR), target)
        self.stdout.write(
            self.style.SUCCESS(
                f"Read {len(imported.ingredients)} ingredients and {len(imported.names)} names from RxNorm; wrote "
                f"{counts['ingredients']} new ingredients, {counts['names']} names and {counts['products']} drug "
                f"products (by RxCUI and NDC) to {target}. "
                "Restart the app (and run relink_medications) to use them."
            )
        )

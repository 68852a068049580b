import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from interactions.engine.knowledge import KNOWLEDGE_DIR, load_knowledge_base, validate_knowledge_base

# The most dispensed U.S. drugs as ingredients (rank, ingredient, source): every one must be in the dictionary.
TOP_DRUGS = "top300.csv"


def _rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


class Command(BaseCommand):
    help = "Check the drug knowledge base (interactions/knowledge/): references, duplicates, sources."
    requires_system_checks = []  # the system check loads the same knowledge base and would stop first

    def add_arguments(self, parser):
        parser.add_argument("--directory", default=str(KNOWLEDGE_DIR))
        parser.add_argument(
            "--lenient",
            action="store_true",
            help="let references to ingredients that are not in the dictionary yet pass, and list them",
        )

    def handle(self, *args, directory, lenient, **options):
        problems, unknown = validate_knowledge_base(directory, lenient=lenient)
        if unknown:
            self.stdout.write(
                f"{len(unknown)} ingredient(s) not in the dictionary yet: {', '.join(sorted(unknown))}"
            )
        if problems:
            raise CommandError("\n".join([f"{len(problems)} problem(s):", *problems]))
        top = _rows(Path(directory) / TOP_DRUGS)
        known = {
            row["name"].lower() for path in Path(directory).glob("ingredients/*.csv") for row in _rows(path)
        }
        missing = [row["ingredient"] for row in top if row["ingredient"] not in known]
        if top and not lenient:
            self.stdout.write(
                f"Most dispensed drugs ({TOP_DRUGS}): {len(top) - len(missing)} of {len(top)} in the dictionary."
            )
        if missing:
            raise CommandError(
                f"{len(missing)} of the most dispensed drugs ({TOP_DRUGS}) not in the dictionary: {', '.join(missing)}"
            )
        if not lenient:
            kb = load_knowledge_base(directory)
            unsourced = sorted({row["source"] for row in top} - kb.sources.keys())
            if unsourced:
                raise CommandError(f"{TOP_DRUGS}: unknown source(s) {', '.join(unsourced)}")
            families = {
                "interaction": len(kb.interaction_rules),
                "elderly": len(kb.elderly_rules),
                "renal": len(kb.renal_rules),
                "disease": len(kb.disease_rules),
                "dose": len(kb.dose_rules) + (1 if kb.mme else 0),
                "pharmacogenomic": len(kb.gene_rules),
                "pregnancy": len(kb.pregnancy_rules),
                "lifestyle": len(kb.lifestyle_rules),
            }
            rules = sum(families.values())
            uncoded = sorted(
                n for n, i in kb.ingredients.items() if not i.rxcui and i.kind not in {"supplement", "herbal"}
            )
            if uncoded:
                self.stdout.write(f"Without an RxCUI yet (matched by name only): {', '.join(uncoded)}")
            self.stdout.write(
                self.style.SUCCESS(
                    f"Knowledge base {kb.version}: {len(kb.ingredients)} ingredients, {len(kb.names)} names, "
                    f"{rules} rules in all ({', '.join(f'{count} {name}' for name, count in families.items())}), "
                    f"{len(kb.allergens)} allergen classes, "
                    f"patient education for {len(kb.education)} ingredients."
                )
            )
        else:
            self.stdout.write(self.style.SUCCESS("No other problems."))

from django.core.management.base import BaseCommand, CommandError

from interactions.engine.knowledge import KNOWLEDGE_DIR, load_knowledge_base, validate_knowledge_base


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
        if not lenient:
            kb = load_knowledge_base(directory)
            rules = (
                len(kb.interaction_rules)
                + len(kb.elderly_rules)
                + len(kb.renal_rules)
                + len(kb.disease_rules)
            )
            uncoded = sorted(
                n for n, i in kb.ingredients.items() if not i.rxcui and i.kind not in {"supplement", "herbal"}
            )
            if uncoded:
                self.stdout.write(f"Without an RxCUI yet (matched by name only): {', '.join(uncoded)}")
            self.stdout.write(
                self.style.SUCCESS(
                    f"Knowledge base {kb.version}: {len(kb.ingredients)} ingredients, {len(kb.names)} names, "
                    f"{len(kb.interaction_rules)} interaction rules, {rules} rules in all, {len(kb.allergens)} allergen classes, "
                    f"patient education for {len(kb.education)} ingredients."
                )
            )
        else:
            self.stdout.write(self.style.SUCCESS("No other problems."))

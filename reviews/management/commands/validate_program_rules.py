from django.core.management.base import BaseCommand, CommandError

from interactions.selectors import knowledge_base
from reviews.eligibility import TargetingRulesError, load_targeting
from reviews.measures import MeasureRulesError, load_measure_sets


class Command(BaseCommand):
    help = "Check the MTM program rules: reviews/rules/measures.yaml and reviews/rules/targeting.yaml."

    def handle(self, *args, **options):
        kb = knowledge_base()
        try:
            measure_sets = load_measure_sets(kb)
            targeting = sorted(load_targeting(kb).values(), key=lambda rules: rules.year)
        except (MeasureRulesError, TargetingRulesError, KeyError, ValueError, TypeError) as error:
            raise CommandError(f"Program rules: {error}") from error
        for measure_set in measure_sets:
            self.stdout.write(
                f"Measures for {', '.join(map(str, measure_set.years))}: "
                + ", ".join(f"{code} ({len(m.drugs)} drugs)" for code, m in measure_set.measures.items())
            )
        for rules in targeting:
            note = " (to verify against CMS's memo)" if rules.verify else ""
            self.stdout.write(
                f"Targeting {rules.year}: up to {rules.max_required_diseases} diseases of "
                f"{len(rules.core_diseases)}, up to {rules.max_required_drugs} drugs, ${rules.cost_threshold:,}{note}"
            )
        self.stdout.write(self.style.SUCCESS("Program rules are valid."))

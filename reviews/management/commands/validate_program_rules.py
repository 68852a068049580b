from django.core.management.base import BaseCommand, CommandError

from interactions.selectors import knowledge_base
from reviews import report
from reviews.eligibility import TargetingRulesError, load_targeting
from reviews.measures import MeasureRulesError, load_measure_sets
from reviews.models import CmrRecipient, OptOutReason, ProviderType, TargetingReason


class Command(BaseCommand):
    help = "Check the MTM program rules: reviews/rules/measures.yaml and reviews/rules/targeting.yaml."

    def handle(self, *args, **options):
        kb = knowledge_base()
        try:
            measure_sets = load_measure_sets(kb)
            targeting = sorted(load_targeting(kb).values(), key=lambda rules: rules.year)
            report_codes = report.codes()
            gaps = {
                name: sorted(set(choices.values) - set(report_codes[name]))
                for name, choices in (("cmr_provider", ProviderType), ("cmr_recipient", CmrRecipient),
                                      ("offer_recipient", CmrRecipient), ("opt_out_reason", OptOutReason),
                                      ("targeting_reason", TargetingReason))
            }  # fmt: skip
        except (MeasureRulesError, TargetingRulesError, KeyError, ValueError, TypeError) as error:
            raise CommandError(f"Program rules: {error}") from error
        gaps = {name: values for name, values in gaps.items() if values}
        if gaps:
            raise CommandError(f"Program rules: reviews/rules/mtm_report.yaml has no code for {gaps}")
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

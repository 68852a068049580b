"""python manage.py mtm_report --year 2026 --contract H1234 [--organisation SLUG] [--output FILE]"""

from django.core.management.base import BaseCommand, CommandError

from reviews.models import MtmProgram
from reviews.report import data_dictionary_csv, report_csv


class Command(BaseCommand):
    help = (
        "Write the beneficiary-level CMS MTM report of a contract and year as CSV (one line per enrolled "
        "member), and list on stderr the members whose line lacks a required field."
    )

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True, help="The contract year, e.g. 2026")
        parser.add_argument("--contract", required=True, help="The contract number, e.g. H1234")
        parser.add_argument(
            "--organisation", help="The organisation's slug (needed when two hold the contract)"
        )
        parser.add_argument("--output", help="Write the CSV here (default: standard output)")
        parser.add_argument("--dictionary", help="Also write the data dictionary (CSV) here")

    def handle(self, *args, year, contract, organisation=None, output=None, dictionary=None, **options):
        programs = MtmProgram.objects.select_related("organisation").filter(
            year=year, contract_number=contract.upper()
        )
        if organisation:
            programs = programs.filter(organisation__slug=organisation)
        found = list(programs[:2])
        if not found:
            raise CommandError(
                f"No MTM program for contract {contract} in {year}"
                + (f" at {organisation}." if organisation else ".")
            )
        if len(found) > 1:
            raise CommandError(
                f"Two organisations run contract {contract} in {year}: name one with --organisation."
            )
        program = found[0]
        if output:
            with open(output, "w", newline="", encoding="utf-8") as out:
                missing = report_csv(program, out)
        else:
            missing = report_csv(program, self.stdout)
        if dictionary:
            with open(dictionary, "w", newline="", encoding="utf-8") as out:
                out.write(data_dictionary_csv())
        for item in missing:
            self.stderr.write(
                f"Missing {item.column} ({item.label}) for {item.member}: record it at {item.fix_at}"
            )
        if missing:
            self.stderr.write(f"{len(missing)} required field(s) missing.")

"""python manage.py load_value_sets PATH --organisation SLUG"""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from mtm.audit import Actor
from mtm.models import Organisation, User
from reviews.value_sets import value_sets_load


class Command(BaseCommand):
    help = "Load licensed measure value sets (CSV: measure,role,code_system,code; see reviews/value_sets.py)."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--organisation", required=True, help="The organisation's slug")
        parser.add_argument(
            "--user", help="Who loads them (a user name of the organisation), for the audit trail"
        )

    def handle(self, *args, path, organisation, user=None, **options):
        found = Organisation.objects.filter(slug=organisation).first()
        if found is None:
            raise CommandError(f"No organisation {organisation!r}.")
        by_user = User.objects.filter(organisation=found, username=user).first() if user else None
        if user and by_user is None:
            raise CommandError(f"No user {user!r} in {organisation}.")
        try:
            with Path(path).open(encoding="utf-8-sig", newline="") as lines:
                counted = value_sets_load(organisation=found, lines=lines, file_name=Path(path).name,
                                          by=Actor(by_user, via="cli") if by_user else None)  # fmt: skip
        except FileNotFoundError as error:
            raise CommandError(f"No file {path}.") from error
        except ValidationError as error:
            raise CommandError("Nothing loaded:\n" + "\n".join(error.messages)) from error
        for (measure, role), rows in sorted(counted.items()):
            self.stdout.write(f"{measure} {role}: {rows} rows")
        self.stdout.write(self.style.SUCCESS("Value sets loaded; the next program run uses them."))

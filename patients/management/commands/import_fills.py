"""Import a pharmacy's fill file (CSV) into the organisation's fill histories, streamed."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from mtm.audit import Actor, audit_record
from mtm.models import AuditAction, Organisation, User
from mtm.permissions import Capability
from patients.interop.fills import fills_import, parse_mapping


class Command(BaseCommand):
    help = "Import a fill file (columns: see the README, “Importing fill files”); refused rows go to an error CSV."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--organisation", required=True, help="the organisation's slug")
        parser.add_argument("--user", required=True, help="who imports (audited)")
        parser.add_argument(
            "--identifier-system", required=True, help="the system the patient_id column comes from"
        )
        parser.add_argument("--map", default="", help='other column names: "Rx Date=fill_date,Qty=quantity"')
        parser.add_argument(
            "--errors", type=Path, help="where to write the refused rows (default: PATH.errors.csv)"
        )
        parser.add_argument("--dry-run", action="store_true", help="check and count; write nothing")

    def handle(self, *args, path, organisation, user, identifier_system, map, errors, dry_run, **options):
        found = Organisation.objects.filter(slug=organisation).first()
        if found is None:
            raise CommandError(f"--organisation: no organisation with the slug “{organisation}”.")
        importer = User.objects.filter(username=user, organisation=found, is_active=True).first()
        if importer is None or not importer.can(Capability.PATIENT_EDIT):
            raise CommandError(
                f"--user: “{user}” is not an active user of {found.name} who may edit records."
            )
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        errors = errors or path.with_suffix(".errors.csv")
        try:
            mapping = parse_mapping(map)
            with (
                path.open(encoding="utf-8-sig", newline="") as lines,
                errors.open("w", newline="") as errors_to,
            ):
                report = fills_import(organisation=found, lines=lines, mapping=mapping, identifier_system=identifier_system,
                                      errors_to=errors_to, dry_run=dry_run)  # fmt: skip
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        if not dry_run:
            audit_record(
                actor=Actor(user=importer, via="cli"), action=AuditAction.CREATE, organisation_id=found.pk,
                changes={"import": ["", f"fill file {path.name}: {report.imported} fills"[:200]]},
            )  # fmt: skip
        verb = "Would import" if dry_run else "Imported"
        self.stdout.write(f"Read {report.rows_read} rows. {verb} {report.imported} fills; {report.duplicates} already recorded "
                          f"(skipped); {report.refused} refused.")  # fmt: skip
        for error in report.errors[:10]:
            self.stdout.write(f"  line {error.line}, {error.column} “{error.value}”: {error.reason}")
        if report.refused:
            self.stdout.write(f"Every refused row, with why: {errors}")

"""Import FHIR R4 files (Bundles, single resources, Bulk Data NDJSON) into an organisation's records."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from mtm.audit import Actor
from mtm.models import Organisation, User
from mtm.permissions import Capability
from patients.interop.fhir_import import fhir_import_request, import_lines_apply, import_plan
from patients.interop.fhir_read import files_in
from patients.models import LineAction, LineDecision, PatientMatch


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = (
        "Import FHIR R4 data: print what it would change (--dry-run), or write it. Lines for a patient "
        "matched only by name and birth date wait for a pharmacist's confirmation on the import's page."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path, help=".json or .ndjson files, or folders of them")
        parser.add_argument("--organisation", required=True, help="the organisation's slug")
        parser.add_argument(
            "--user", required=True, help="who imports (a pharmacist or staff of the organisation)"
        )
        parser.add_argument("--source", help="where the data comes from (default: the first file's name)")
        parser.add_argument("--dry-run", action="store_true", help="print the preview; write nothing")

    def handle(self, *args, paths, organisation, user, source, dry_run, **options):
        organisation_found = Organisation.objects.filter(slug=organisation).first()
        if organisation_found is None:
            raise CommandError(f"--organisation: no organisation with the slug “{organisation}”.")
        importer = User.objects.filter(username=user, organisation=organisation_found, is_active=True).first()
        if importer is None or not importer.can(Capability.PATIENT_EDIT):
            raise CommandError(
                f"--user: “{user}” is not an active user of {organisation_found.name} who may edit records."
            )
        missing = [str(path) for path in paths if not path.exists()]
        if missing:
            raise CommandError(f"No such file or folder: {', '.join(missing)}")
        files = list(files_in(paths))
        by = Actor(user=importer, via="cli")
        try:
            with transaction.atomic():
                job = fhir_import_request(
                    user=importer, files=files, source_system=source or (files[0][0] if files else ""), by=by,
                    queue=False,
                )  # fmt: skip
                import_plan(job)
                self._preview(job)
                if dry_run:
                    raise Rollback
                result = import_lines_apply(job=job, line_ids=None, by=by)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        except Rollback:
            self.stdout.write("Dry run: nothing was written.")
            return
        self.stdout.write(f"Written: {result['applied']} lines.")
        for name, reason in result["reasons"].items():
            self.stdout.write(
                f"Not written for {name}: {reason} (import {job.pk}, on its page under Patients → Imports)."
            )

    def _preview(self, job) -> None:
        report = job.report
        self.stdout.write(
            f"Read: {', '.join(f'{n} {k}' for k, n in sorted(report['read'].items())) or 'nothing'}."
        )
        for kind, reasons in sorted(report["skipped"].items()):
            for reason in reasons:
                self.stdout.write(f"Skipped {reason['count']} {kind}: {reason['why']}.")
        for problem in report["problems"]:
            self.stdout.write(f"Refused {problem['where']}: {problem['reason'].rstrip('.')}.")
        if report["problem_count"] > len(report["problems"]):
            self.stdout.write(f"... and {report['problem_count'] - len(report['problems'])} more refused.")
        for import_patient in job.patients.prefetch_related("lines"):
            match = PatientMatch(import_patient.match).label
            self.stdout.write(f"\n{import_patient.name} — {match}")
            for line in import_patient.lines.all():
                if line.action != LineAction.SAME or line.decision == LineDecision.PENDING:
                    self.stdout.write(f"  {line.summary}")
            same = sum(1 for line in import_patient.lines.all() if line.action == LineAction.SAME)
            if same:
                self.stdout.write(f"  ({same} already as recorded)")

"""python manage.py screen < request.json — prints the screening response (shared/DESIGN.md)."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from interactions.engine import KnowledgeBaseError, ScreeningInputError
from interactions.selectors import screening_run


class Command(BaseCommand):
    help = "Screen a medication list: reads the request JSON on standard input, prints the response JSON."
    # The system checks import every URL and view (over a second); screening loads and validates the
    # knowledge base itself, and stops with its problems listed if it is broken.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "file", nargs="?", help="read the request from this file instead of standard input"
        )

    def handle(self, *args, file=None, **options):
        text = open(file, encoding="utf-8").read() if file else sys.stdin.read()  # noqa: SIM115
        try:
            request = json.loads(text)
        except json.JSONDecodeError as error:
            raise CommandError(
                f"request: not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})"
            ) from None
        try:
            response = screening_run(request)
        except ScreeningInputError as error:
            raise CommandError(
                "\n".join(f"{field}: {message}" for field, message in error.errors.items())
            ) from None
        except KnowledgeBaseError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(json.dumps(response, indent=2, ensure_ascii=False))

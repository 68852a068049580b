"""Fill an empty installation with fictional demo data. Safe to run again: nothing is duplicated."""

import importlib
import importlib.util

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from mtm.demo import DEMO_PASSWORD, DemoContext


class Command(BaseCommand):
    help = "Create the demo organisations, users and patients (refused when DEBUG is off)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo creates accounts with a published password; it only runs with DEBUG on."
            )
        context = DemoContext()
        with transaction.atomic():
            # Each app may contribute a `demo` module with `seed(context)`, run in INSTALLED_APPS order.
            for app_config in apps.get_app_configs():
                module_name = f"{app_config.name}.demo"
                if importlib.util.find_spec(module_name) is not None:
                    importlib.import_module(module_name).seed(context)
        made = (
            ", ".join(f"{n} {what}" for what, n in context.created.items() if n)
            or "nothing new (already there)"
        )
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: created {made}."))
        self.stdout.write(f"Demo logins (password {DEMO_PASSWORD}): " + ", ".join(context.users))

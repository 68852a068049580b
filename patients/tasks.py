"""Thin Celery tasks of the patients app (registered here, where the worker looks)."""

from patients.interop.fhir_import import forget_old_files, read_import  # noqa: F401
from patients.interop.fills import run_fill_import  # noqa: F401

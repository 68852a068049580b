"""Reads of action plans and issued documents, scoped to the user's organisation (staff) or to the
patient's own record (portal)."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from actionplans.models import IssuedDocument
from mtm.scoping import scope_to_organisation
from patients.selectors import portal_patient


def documents_visible_to(user) -> QuerySet[IssuedDocument]:
    return scope_to_organisation(IssuedDocument.objects.all(), user, path="patient__organisation")


def document_get(*, user, document_id) -> IssuedDocument:
    return get_object_or_404(documents_visible_to(user), pk=document_id)


def portal_documents(*, user) -> QuerySet[IssuedDocument]:
    """The patient user's own issued documents, newest first; nothing of anyone else's."""
    return IssuedDocument.objects.filter(patient=portal_patient(user=user)).defer("pdf", "snapshot")


def portal_document_get(*, user, document_id) -> IssuedDocument:
    return get_object_or_404(IssuedDocument.objects.filter(patient=portal_patient(user=user)), pk=document_id)

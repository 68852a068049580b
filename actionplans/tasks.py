"""Thin Celery tasks: take ids, load, call one service."""

from celery import shared_task

from actionplans.models import DownloadLink
from actionplans.services import download_link_email_send


@shared_task
def send_download_link(link_id: str, base_url: str) -> None:
    link = DownloadLink.objects.select_related("document__patient__organisation").filter(pk=link_id).first()
    if link is not None and link.sent_at is None:
        download_link_email_send(link=link, base_url=base_url)

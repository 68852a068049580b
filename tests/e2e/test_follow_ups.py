import datetime
import zoneinfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from followups.models import FollowUp, FollowUpStatus
from tests.e2e.conftest import htmx_settled, sign_in

pytestmark = pytest.mark.browser


def test_staff_reschedules_a_follow_up_and_marks_one_done_from_the_agenda(demo, live_server, page):
    sign_in(page, live_server.url, "demo-staff")
    page.get_by_role("link", name="Follow-ups").click()
    expect(page.get_by_role("heading", name="Follow-ups due")).to_be_visible()
    page.get_by_role("link", name="Agenda").click()
    page.get_by_role("link", name="Day view").first.click()
    expect(page.get_by_role("heading", name="Agenda:")).to_contain_text(
        f"{timezone.localtime(timezone.now(), zoneinfo.ZoneInfo('America/Chicago')):%A}"
    )
    htmx_settled(page)

    # Opening the move form and thinking better of it leaves the row as it was.
    kowalski = page.locator("tbody.follow-up", has_text="Kowalski, Walter")
    kowalski.get_by_role("link", name="Reschedule").click()
    expect(kowalski.get_by_label("New time")).to_be_visible()
    htmx_settled(page)
    kowalski.get_by_role("link", name="Keep as is").click()
    expect(kowalski.get_by_label("New time")).to_have_count(0)
    expect(kowalski.get_by_role("button", name="Done")).to_be_visible()
    htmx_settled(page)

    # Move Dolores Ramirez's check-in to tomorrow at 11:00, without leaving the page.
    ramirez = page.locator("tbody.follow-up", has_text="Ramirez, Dolores")
    ramirez.get_by_role("link", name="Reschedule").click()
    htmx_settled(page)
    zone = zoneinfo.ZoneInfo("America/Chicago")
    tomorrow = timezone.localtime(timezone.now(), zone).date() + datetime.timedelta(days=1)
    ramirez.get_by_label("New time").fill(f"{tomorrow:%Y-%m-%d}T11:00")
    ramirez.get_by_label("Assigned to").select_option(label="Dana Whitfield")
    ramirez.get_by_role("button", name="Move").click()
    expect(ramirez.get_by_role("status")).to_have_text("Moved")
    expect(ramirez).to_contain_text(f"{tomorrow:%m/%d}")
    expect(ramirez).to_contain_text("11:00 AM")
    expect(ramirez).to_contain_text("Dana Whitfield")
    moved = FollowUp.objects.get(patient__last_name="Ramirez", kind="phone_check_in")
    assert moved.due_at == datetime.datetime.combine(tomorrow, datetime.time(11), zone)
    assert moved.assigned_to.username == "demo-pharmacist"
    htmx_settled(page)

    # Walter Kowalski's lab check is done: one click.
    kowalski.get_by_role("button", name="Done").click()
    expect(kowalski.locator(".badge")).to_have_text("Done")
    expect(kowalski.get_by_role("button", name="Done")).to_have_count(0)
    done = FollowUp.objects.get(patient__last_name="Kowalski", kind="lab_check")
    assert done.status == FollowUpStatus.DONE and done.closed_at is not None

    # The day, loaded again: the moved check-in has gone to tomorrow, the lab check shows as done.
    page.reload()
    expect(page.locator("tbody.follow-up", has_text="Ramirez, Dolores")).to_have_count(0)
    expect(page.locator("tbody.follow-up", has_text="Kowalski, Walter").locator(".badge")).to_have_text(
        "Done"
    )

from django.urls import path

from followups import views

urlpatterns = [
    path("today/", views.today_page, name="today"),
    path("follow-ups/", views.follow_up_queue, name="follow_up_queue"),
    path("follow-ups/agenda/", views.agenda, name="agenda"),
    path("follow-ups/calendar-feed/", views.calendar_feed_reset, name="calendar_feed_reset"),
    path("follow-ups/<uuid:follow_up_id>/", views.follow_up_detail, name="follow_up_detail"),
    # A follow-up's actions live under its page's address: the rows of long lists build them from it
    # (templates/followups/_row.html) rather than reverse each one.
    path("follow-ups/<uuid:follow_up_id>/row/", views.follow_up_row, name="follow_up_row"),
    path("follow-ups/<uuid:follow_up_id>/close/", views.follow_up_close, name="follow_up_close"),
    path(
        "follow-ups/<uuid:follow_up_id>/reschedule/", views.follow_up_reschedule, name="follow_up_reschedule"
    ),
    path("follow-ups/<uuid:follow_up_id>/calendar.ics", views.follow_up_ics, name="follow_up_ics"),
    path("patients/<uuid:patient_id>/follow-ups/new/", views.follow_up_new, name="follow_up_new"),
    path("reminders/<uuid:reminder_id>/handle/", views.reminder_handle, name="reminder_handle"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
    path(
        "portal/appointments/<uuid:follow_up_id>/calendar.ics",
        views.portal_appointment_ics,
        name="portal_appointment_ics",
    ),
]

import datetime

from django.template.defaultfilters import date as date_filter
from django.utils import timezone

from mtm.templatetags.mtm_tags import mdy


def test_mdy_shows_what_the_date_filter_shows():
    aware = timezone.make_aware(datetime.datetime(2026, 3, 14, 23, 30), datetime.UTC)
    for value in [datetime.date(2026, 3, 14), datetime.date(1948, 12, 1), aware, None, ""]:
        assert mdy(value) == date_filter(value, "m/d/Y"), value

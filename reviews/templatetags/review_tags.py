"""Template filters of the review workspace: markup that repeats for every medication, built once."""

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from reviews.models import Answer

register = template.Library()

ANSWERS = [("", "—"), *Answer.choices]  # the CMR questions' choices, for the hand-written selects


def _options(selected: str) -> SafeString:
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, " selected" if value == selected else "", label) for value, label in ANSWERS),
    )


# Six questions on each of up to twenty medications: the four ways a select can be are made once.
_OPTIONS = {value: _options(value) for value, _ in ANSWERS}
_NONE_SELECTED = _options(None)


@register.filter
def answer_options(value) -> SafeString:
    """The <option>s of a CMR question's select, `value` (an answer, or "" / None) selected."""
    return _OPTIONS.get(value or "", _NONE_SELECTED)

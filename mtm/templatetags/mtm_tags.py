"""Template tags every template has (settings.TEMPLATES builtins)."""

from django import template

from mtm.submissions import form_token_input

register = template.Library()


@register.simple_tag
def form_token() -> str:
    """A hidden one-time token: sent twice, the form runs once (mtm.submissions)."""
    return form_token_input()

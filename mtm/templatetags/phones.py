"""{{ organisation.phone|tel_uri }}: a link a phone can dial."""

from django import template

from mtm.validators import phone_number_uri

register = template.Library()


@register.filter
def tel_uri(text: str) -> str:
    return phone_number_uri(text)

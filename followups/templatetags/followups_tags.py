"""Links to another page of a list, keeping the rest of the address (staff filter, other sections' pages)."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def page_link(context, name: str, number: int, anchor: str = "") -> str:
    """The current address with ?<name>=<number> (the first page drops the parameter)."""
    query = context["request"].GET.copy()
    query.pop(name, None)
    if number > 1:
        query[name] = number
    return f"?{query.urlencode()}{anchor}" if query else f"{context['request'].path}{anchor}"

"""Template filters of the patient pages."""

from django import template

from interactions.selectors import medication_dose_reading, medication_resolve

register = template.Library()


@register.filter
def dose_reading(entry) -> str:
    """How screening reads a medication entry's dose ("read as 2 x 500 mg, up to 4 times a day =
    up to acetaminophen 4,000 mg a day"), shown under its directions so a misreading is seen and
    corrected by editing them."""
    return medication_dose_reading(
        entry.name, " ".join(p for p in (entry.strength_dose, entry.directions) if p)
    )


@register.filter
def partly_recognised(entry) -> bool:
    """Part of the name was not recognised ("Tylenol Cold Multi-Symptom"): screened for what was."""
    return entry.is_recognised and medication_resolve(entry.name).partial

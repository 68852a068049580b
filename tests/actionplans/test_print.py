"""The printed summary: CMS asks for at least 12-point type (large print larger), and no page is left
nearly empty by a break. Read from the PDF itself: the size of every piece of text, and how far down
each page the text reaches. The PDF step is pure (a snapshot in, bytes out), so these need no database."""

from collections import Counter

import pytest

from actionplans.documents import render_summary_pdf
from tests.actionplans.pdf_reading import page_fill, text_runs

TOP_MARGIN, BOTTOM_MARGIN = 0.6 * 72, 0.7 * 72  # the @page margins, in points


def snapshot(*, topics: int, medications: int, explained: int, language: str = "en") -> dict:
    return {
        "language": language, "prepared_on": "12/04/2026", "service_date": "11/25/2026",
        "organisation": {"name": "Riverside Pharmacy", "address": "214 River Street", "city_line": "Madison, WI 53703",
                         "phone": "(608) 555-0142", "tty": "711", "hours": "Monday to Friday, 9 am to 6 pm", "fax": ""},
        "pharmacist": "Dana Whitfield",
        "patient": {"name": "Margaret Okafor", "first_name": "Margaret", "date_of_birth": "03/14/1952",
                    "address": "2218 Cypress Way", "city_line": "Madison, WI 53713", "representative": "",
                    "plan_name": "Badger Medicare Advantage"},
        "topics": [{"talked_about": f"Advil with your blood pressure pills can hurt your kidneys ({number}).",
                    "to_do": "Stop taking Advil. For knee pain, take Tylenol 500 mg, 1 to 2 tablets up to 3 times a day."}
                   for number in range(topics)],
        "follow_up": "We will call you in about 3 months.", "questions": "Would physical therapy help my knee?",
        "allergies": ["penicillin: hives (allergy)"],
        "medications": [{"name": f"medicine {number} 20 mg", "how": "1 tablet by mouth every morning before breakfast",
                         "why": "blood pressure", "prescriber": "Alan Hartman, MD", "started": "03/14/2024",
                         "stopped": "Stop as agreed with your doctor" if number == 0 else "",
                         "why_stopped": "See my Medication Action Plan." if number == 0 else "", "stop_as_agreed": number == 0}
                        for number in range(medications)],
        "other_information": "",
        "education": [{"name": f"medicine {number} 20 mg", "purpose": "Lowers blood pressure, which helps prevent strokes.",
                       "how_to_take": "Take it once a day at the same time, with or without food. Keep your blood tests.",
                       "side_effects": "A dry, tickly cough, dizziness, headache, and tiredness. Stand up slowly.",
                       "get_help": "Get help right away for swelling of the face, lips, tongue, or throat.", "pregnancy": ""}
                      for number in range(explained)],
        "education_sources": ["A label's Patient Counseling Information (17)."],
    }  # fmt: skip


def test_all_text_of_the_standard_print_is_at_least_12_points_with_the_body_at_12():
    pdf = render_summary_pdf(snapshot(topics=3, medications=8, explained=2))
    runs = text_runs(pdf)
    assert min(run.size for run in runs) >= 12
    sizes = Counter(run.size for run in runs)
    assert sizes.most_common(1)[0][0] == 12  # the body text
    table = [
        run
        for run in runs
        if run.text.startswith(("How I use it:", "Why I use it:", "Date I stopped using it:"))
    ]
    assert len(table) >= 8 * 3 and {run.size for run in table} == {12}  # the medication list, every row
    assert "Sources:" not in " ".join(run.text for run in runs)


def test_large_print_is_larger_everywhere():
    runs = text_runs(render_summary_pdf(snapshot(topics=2, medications=3, explained=1), large_print=True))
    assert min(run.size for run in runs) >= 16
    assert Counter(run.size for run in runs).most_common(1)[0][0] == 16


@pytest.mark.parametrize(
    ("topics", "medications", "explained", "large_print"),
    [
        (2, 3, 1, False),
        (5, 12, 1, False),
        (1, 16, 3, False),
        (8, 7, 0, False),
        (5, 1, 1, True),
        (2, 7, 3, True),
    ],
)
def test_no_page_is_left_nearly_empty(topics, medications, explained, large_print):
    """Whatever the number of topics, medications and medicines explained: the end of each part
    (the questions box and the phone line, the medication list's "Other information") stays with
    what comes before it, and "About my medicines" follows the list when there is room."""
    pdf = render_summary_pdf(
        snapshot(topics=topics, medications=medications, explained=explained), large_print=large_print
    )
    fills = page_fill(pdf, top_margin=TOP_MARGIN, bottom_margin=BOTTOM_MARGIN)
    assert min(fills.values()) >= 0.25, {page: round(fill, 2) for page, fill in fills.items()}

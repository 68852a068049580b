"""The written summary PDF: time and memory for a 15-medication plan against a one-page PDF
rendered in the same run (budget: at most 5 times the one-page PDF, here the summary's cover letter
alone: same template, stylesheet, fonts and page setup).

    .venv/bin/python bench/actionplans.py [--repeat 7]

Uses the bench database of bench/patients.py and bench/reviews.py (it seeds what it needs).
"""

import argparse
import datetime
import importlib.util
import io
import statistics
import time
import tracemalloc
from pathlib import Path

_spec = importlib.util.spec_from_file_location("bench_reviews", Path(__file__).with_name("reviews.py"))
bench_reviews = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_reviews)  # sets up Django on the bench database

from pypdf import PdfReader  # noqa: E402
from weasyprint import HTML  # noqa: E402

from actionplans import services  # noqa: E402
from actionplans.documents import render_summary_html, render_summary_pdf, summary_snapshot  # noqa: E402
from mtm.audit import Actor  # noqa: E402
from mtm.fonts import pdf_fonts  # noqa: E402
from patients.models import Prescriber  # noqa: E402
from reviews import services as review_services  # noqa: E402
from reviews.selectors import review_findings  # noqa: E402

# Two one-page baselines. The budget's: the summary's own cover letter alone, a one-page PDF from the
# same template, stylesheet, fonts and page setup, so that the ratio is what the rest of the content
# costs. And, for reference, a bare half page with the same fonts and page counter.
BARE_PAGE = f"""<!doctype html><html><head><meta charset="utf-8"><style>
@font-face {{ font-family: "MTM Sans"; src: url("{pdf_fonts()["regular"]}"); font-weight: normal; }}
@font-face {{ font-family: "MTM Sans"; src: url("{pdf_fonts()["bold"]}"); font-weight: bold; }}
@page {{ size: Letter; margin: 0.7in;
  @bottom-right {{ content: "Page " counter(page) " of " counter(pages); font-family: "MTM Sans"; font-size: 8pt; }} }}
body {{ font-family: "MTM Sans"; font-size: 11pt; }}
</style></head><body><h1>One page</h1><p><strong>Dear patient,</strong> {"A short letter to a patient. " * 40}</p></body></html>"""


def measure(renders: dict, repeat: int) -> dict[str, tuple[float, int, int]]:
    """Per document: median seconds, pages, peak traced memory of one render (bytes). The documents
    are rendered in turns, round after round, so that a noisy moment slows all of them alike."""
    pages = {label: len(PdfReader(io.BytesIO(render())).pages) for label, render in renders.items()}
    samples = {label: [] for label in renders}
    for _ in range(repeat):
        for label, render in renders.items():
            started = time.perf_counter()
            render()
            samples[label].append(time.perf_counter() - started)
    peaks = {}
    for label, render in renders.items():
        tracemalloc.start()
        render()
        peaks[label] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return {label: (statistics.median(samples[label]), pages[label], peaks[label]) for label in renders}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    data = bench_reviews.bench_patients.seed(200)
    user = data["user"]
    org = user.organisation
    prescriber = Prescriber.objects.get(organisation=org, npi="1234567893")
    review = bench_reviews.review_with(org, user, prescriber, 15)
    by = Actor(user)
    if not review.is_locked:
        for problem in review.problems.all():
            review_services.recommendation_add(
                problem=problem,
                data={"audience": "patient", "action": "education", "text": "Learn the signs of low blood sugar.",
                      "talked_about": "Glipizide can make your blood sugar too low.",
                      "to_do": "Eat regular meals. If you feel shaky or sweaty, check your sugar and take 4 glucose tablets."},
                by=by,
            )  # fmt: skip
        for finding in review_findings(review, today=datetime.date.today()):  # each finding decided
            review_services.finding_dismiss(
                review=review, finding=finding, reason="Reviewed: no change", by=by
            )
        review = review_services.review_complete(
            review=review, version=review.version, minutes_spent=40, by=by
        )
    plan = services.plan_prepare(review=review, by=by)
    services.education_sync(plan=plan, by=by)  # a plan prepared by an earlier run of the bench
    snapshot = summary_snapshot(review=review, plan=plan, today=datetime.date.today())
    for medication in snapshot[
        "medications"
    ]:  # the bench list has names only: fill the columns as a real list would
        medication["how"] = medication["how"] or "Take 1 tablet by mouth every morning with breakfast"
        medication["why"] = medication["why"] or "High blood pressure"
        medication["started"] = medication["started"] or "03/14/2024"
    # The worst case: the pharmacist prints "About my medicines" for every medication.
    every = [e for e in plan.education.all() if e.purpose]
    everything = {**snapshot, "education": [
        {"name": e.name, "purpose": e.purpose, "how_to_take": e.how_to_take, "side_effects": e.side_effects,
         "get_help": e.get_help} for e in every], "education_sources": sorted({c for e in every for c in e.sources})}  # fmt: skip

    letter = render_summary_html(snapshot).split('<section class="part')[0] + "</body></html>"
    results = measure(
        {
            "one-page PDF: the cover letter alone": lambda: HTML(string=letter).write_pdf(),
            "(a bare half page)": lambda: HTML(string=BARE_PAGE).write_pdf(),
            "written summary": lambda: render_summary_pdf(snapshot),
            "written summary, large print": lambda: render_summary_pdf(snapshot, large_print=True),
            "written summary, every medicine explained": lambda: render_summary_pdf(everything),
            "written summary, no medicine explained": lambda: render_summary_pdf(
                {**snapshot, "education": []}
            ),
        },
        args.repeat,
    )
    one_page = results["one-page PDF: the cover letter alone"][0]
    print(
        f"{len(snapshot['medications'])} medications, {len(snapshot['topics'])} action plan topics, "
        f"{len(snapshot['education'])} medicines explained by default ({len(every)} in the worst case)"
    )
    print(f"{'document':42} {'median ms':>10} {'pages':>6} {'x one page':>11} {'peak MB':>8}")
    for label, (seconds, pages, peak) in results.items():
        print(f"{label:42} {seconds * 1000:10.0f} {pages:6d} {seconds / one_page:11.1f} {peak / 1e6:8.1f}")
    ratio = results["written summary"][0] / one_page
    print(f"budget (<= 5x one page): {'met' if ratio <= 5 else 'NOT met'} ({ratio:.1f}x)")


if __name__ == "__main__":
    main()

from django.urls import path

from reviews import program_views, views

urlpatterns = [
    path("reviews/", views.review_list, name="review_list"),
    path("reviews/outcomes/", views.outcomes_report, name="outcomes_report"),
    path("reviews/billing.csv", views.billing_export, name="billing_export"),
    path("reviews/<uuid:review_id>/ecare-plan.json", views.review_ecare_plan, name="review_ecare_plan"),
    path("reviews/billing/prepare/", views.billing_export_prepare, name="billing_export_prepare"),
    path("patients/<uuid:patient_id>/reviews/new/", views.review_new, name="review_new"),
    path("reviews/<uuid:review_id>/", views.review_workspace, name="review_workspace"),
    path("reviews/<uuid:review_id>/details/", views.review_details, name="review_details"),
    path("reviews/<uuid:review_id>/start/", views.review_start, name="review_start"),
    path("reviews/<uuid:review_id>/complete/", views.review_complete, name="review_complete"),
    path("reviews/<uuid:review_id>/addenda/", views.addendum_add, name="addendum_add"),
    path("reviews/<uuid:review_id>/summary/", views.summary_delivered, name="summary_delivered"),
    path(
        "reviews/<uuid:review_id>/medications/<uuid:medication_id>/assessment/",
        views.assessment_save,
        name="assessment_save",
    ),
    path(
        "reviews/<uuid:review_id>/adherence/<uuid:medication_id>/",
        views.adherence_confirm,
        name="adherence_confirm",
    ),
    path("reviews/<uuid:review_id>/medications/", views.medication_start, name="review_medication_start"),
    path(
        "reviews/<uuid:review_id>/medications/<uuid:medication_id>/change/",
        views.medication_change,
        name="review_medication_change",
    ),
    path("reviews/<uuid:review_id>/findings/confirm/", views.finding_confirm, name="finding_confirm"),
    path("reviews/<uuid:review_id>/findings/dismiss/", views.finding_dismiss, name="finding_dismiss"),
    path("reviews/<uuid:review_id>/problems/", views.problem_add, name="problem_add"),
    path("reviews/<uuid:review_id>/problems/new/", views.problem_new_form, name="problem_new_form"),
    path("reviews/<uuid:review_id>/problems/<uuid:problem_id>/", views.problem_edit, name="problem_edit"),
    path(
        "reviews/<uuid:review_id>/problems/<uuid:problem_id>/forms/<str:which>/",
        views.problem_form,
        name="problem_form",
    ),
    path(
        "reviews/<uuid:review_id>/problems/<uuid:problem_id>/recommendations/",
        views.recommendation_add,
        name="recommendation_add",
    ),
    path(
        "reviews/<uuid:review_id>/letters/<uuid:prescriber_id>/",
        views.prescriber_letter,
        name="prescriber_letter",
    ),
    path(
        "reviews/<uuid:review_id>/letters/<uuid:prescriber_id>/sent/",
        views.prescriber_letter_sent,
        name="prescriber_letter_sent",
    ),
    path("recommendations/<uuid:recommendation_id>/response/", views.response_record, name="response_record"),
    # The MTM program (reviews/program_views.py)
    path("program/", program_views.program_home, name="program_home"),
    path("program/run/", program_views.program_run, name="program_run"),
    path("program/runs/<uuid:run_id>/", program_views.program_run_progress, name="program_run_progress"),
    path("program/programs/new/", program_views.program_edit, name="program_new"),
    path("program/programs/<uuid:program_id>/", program_views.program_edit, name="program_edit"),
    path(
        "program/programs/<uuid:program_id>/eligible/", program_views.eligible_list, name="program_eligible"
    ),
    path("program/enrollments/<uuid:enrollment_id>/offer/", program_views.offer_add, name="program_offer"),
    path("program/enrollments/<uuid:enrollment_id>/opt-out/", program_views.opt_out, name="program_opt_out"),
    path("program/enrollments/<uuid:enrollment_id>/cmr/", program_views.cmr_open, name="program_cmr_open"),
    path("program/at-risk/", program_views.at_risk_list, name="program_at_risk"),
    path("program/programs/<uuid:program_id>/report/", program_views.report_page, name="program_report"),
    path(
        "program/programs/<uuid:program_id>/report.csv",
        program_views.report_download,
        name="program_report_csv",
    ),
    path("program/report-dictionary.csv", program_views.report_dictionary, name="program_report_dictionary"),
    path("program/measures/<int:measure_id>/tmr/", program_views.tmr_open, name="program_tmr_open"),
    path(
        "program/patients/<uuid:patient_id>/tmr/", program_views.finding_tmr_open, name="program_finding_tmr"
    ),
]

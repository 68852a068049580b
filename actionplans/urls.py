from django.urls import path

from actionplans import views

urlpatterns = [
    path("reviews/<uuid:review_id>/plan/", views.plan_edit, name="plan_edit"),
    path("documents/<uuid:document_id>/", views.document_download, name="document_download"),
    path("documents/<uuid:document_id>/print/", views.document_print, name="document_print"),
    path("portal/", views.portal_home, name="portal"),
    path("portal/documents/<uuid:document_id>/", views.portal_download, name="portal_download"),
    path("d/<str:token>/", views.download_link, name="download_link"),
]

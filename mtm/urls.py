from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from django_otp_webauthn.views import BeginCredentialRegistrationView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from mtm import second_factor_views, views
from mtm.forms import QueuedPasswordResetForm
from mtm.second_factor_views import SignInView

# The endpoints the library's scripts call (named as its template tags expect), under
# /account/two-factor/ where SecondFactorMiddleware lets a user who has not given it yet in.
security_key_patterns = [
    path(
        "registration/begin/", BeginCredentialRegistrationView.as_view(), name="credential-registration-begin"
    ),
    path(
        "registration/complete/",
        second_factor_views.SecurityKeyRegistrationComplete.as_view(),
        name="credential-registration-complete",
    ),
    path(
        "authentication/begin/",
        second_factor_views.SecurityKeyAuthenticationBegin.as_view(),
        name="credential-authentication-begin",
    ),
    path(
        "authentication/complete/",
        second_factor_views.SecurityKeyAuthenticationComplete.as_view(),
        name="credential-authentication-complete",
    ),
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]), name="js-i18n-catalog"),
]

auth_patterns = [
    path("login/", SignInView.as_view(), name="login"),
    path("two-factor/", second_factor_views.second_factor_setup, name="second_factor"),
    path("two-factor/code/", second_factor_views.second_factor_verify, name="second_factor_verify"),
    path("two-factor/remove/", second_factor_views.second_factor_remove, name="second_factor_remove"),
    path(
        "two-factor/keys/<int:key_id>/remove/",
        second_factor_views.security_key_remove,
        name="security_key_remove",
    ),
    path("two-factor/webauthn/", include((security_key_patterns, "otp_webauthn"))),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path(
        "password/reset/",
        auth_views.PasswordResetView.as_view(form_class=QueuedPasswordResetForm),
        name="password_reset",
    ),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("account/", include(auth_patterns)),
    path("team/", views.team_list, name="team_list"),
    path("settings/", views.organisation_settings, name="organisation_settings"),
    path("exports/", views.export_list, name="export_list"),
    path("exports/<uuid:export_id>/", views.export_detail, name="export_detail"),
    path("exports/<uuid:export_id>/download/", views.export_download, name="export_download"),
    path("team/add/", views.team_add, name="team_add"),
    path("team/<uuid:user_id>/", views.team_edit, name="team_edit"),
    path(
        "team/<uuid:user_id>/second-factor/reset/",
        views.team_second_factor_reset,
        name="team_second_factor_reset",
    ),
    path("", include("patients.urls")),
    path("", include("reviews.urls")),
    path("", include("actionplans.urls")),
    path("", include("followups.urls")),
    path("api/v1/", include("mtm.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/schema/ui/", SpectacularSwaggerSplitView.as_view(url_name="api_schema"), name="api_docs"),
    path("admin/", admin.site.urls),
]

handler404 = "mtm.views.page_not_found"  # JSON under /api/
handler500 = "mtm.views.server_error"  # a database that is away: 503 "try again"

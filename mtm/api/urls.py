"""The API's one router: every app registers its viewsets here."""

from datetime import timedelta

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.throttling import ScopedRateThrottle

from followups.api.views import FollowUpViewSet
from interactions.api.views import ScreeningView
from mtm import second_factor
from mtm.api.authentication import token_for
from patients.api import views as patients
from patients.interop.api import ImportViewSet
from reviews.api import views as reviews


class ObtainToken(ObtainAuthToken):
    """POST user name and password, get the token for the Authorization header (valid for
    API_TOKEN_DAYS). Lockout applies; staff only."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(
        request=inline_serializer("TokenRequest", {
            "username": serializers.CharField(), "password": serializers.CharField(),
            "otp_code": serializers.CharField(required=False, help_text="For a user with a second factor."),
        }),
        responses=inline_serializer("Token", {"token": serializers.CharField(), "expires": serializers.DateTimeField()}),
    )  # fmt: skip
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        if user.is_patient_user:
            raise PermissionDenied("Patient accounts use the portal, not the API.")
        if second_factor.has_second_factor(user):
            code = str(request.data.get("otp_code", ""))
            if not code:
                raise ValidationError(
                    {"otp_code": ["This user signs in with a second factor: send the code too."]}
                )
            if not second_factor.verify(request=request._request, user=user, code=code, session=False):
                raise ValidationError({"otp_code": ["That code did not match."]})
        token = token_for(user)
        return Response(
            {"token": token.key, "expires": token.created + timedelta(days=settings.API_TOKEN_DAYS)}
        )


class Router(DefaultRouter):
    """JSON only: no `.json` suffix spelling of every address (it was a second, untested way in)."""

    include_format_suffixes = False


router = Router()
router.register("patients", patients.PatientViewSet, basename="patient")
router.register("prescribers", patients.PrescriberViewSet, basename="prescriber")
router.register(
    r"patients/(?P<patient_pk>[0-9a-f-]{36})/medications", patients.MedicationViewSet, basename="medication"
)
router.register(
    r"patients/(?P<patient_pk>[0-9a-f-]{36})/allergies", patients.AllergyViewSet, basename="allergy"
)
router.register(
    r"patients/(?P<patient_pk>[0-9a-f-]{36})/conditions", patients.ConditionViewSet, basename="condition"
)
router.register(
    r"patients/(?P<patient_pk>[0-9a-f-]{36})/measurements",
    patients.MeasurementViewSet,
    basename="measurement",
)
router.register(r"patients/(?P<patient_pk>[0-9a-f-]{36})/fills", patients.FillViewSet, basename="fill")
router.register(
    r"patients/(?P<patient_pk>[0-9a-f-]{36})/gene-results", patients.GeneResultViewSet, basename="gene-result"
)
router.register(
    r"patients/(?P<patient_pk>[0-9a-f-]{36})/factors",
    patients.PatientFactorViewSet,
    basename="patient-factor",
)
router.register(
    r"patients/(?P<patient_pk>[0-9a-f-]{36})/care-team", patients.CareTeamViewSet, basename="care-team"
)
router.register("reviews", reviews.ReviewViewSet, basename="review")
router.register(
    r"reviews/(?P<review_pk>[0-9a-f-]{36})/problems", reviews.ProblemViewSet, basename="review-problem"
)
router.register("recommendations", reviews.RecommendationViewSet, basename="recommendation")
router.register("follow-ups", FollowUpViewSet, basename="follow-up")
router.register("imports", ImportViewSet, basename="import")

urlpatterns = [
    path("auth/token/", ObtainToken.as_view(), name="api_token"),
    path("screenings/", ScreeningView.as_view(), name="api_screening"),
    path("measures/", reviews.MeasureRatesView.as_view(), name="api_measure_rates"),
    *router.urls,
]

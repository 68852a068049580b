from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from interactions.api.serializers import ScreeningRequestSerializer, ScreeningResponseSerializer
from interactions.engine import ScreeningInputError
from interactions.selectors import screening_run
from mtm.permissions import Capability


class ScreeningView(APIView):
    """Screen a medication list (and the patient's age, kidney function, allergies and conditions)
    for drug-related problems. Nothing is stored."""

    read_capability = Capability.PATIENT_VIEW
    write_capability = Capability.PATIENT_VIEW  # a POST that reads: anyone who may see records

    @extend_schema(request=ScreeningRequestSerializer, responses=ScreeningResponseSerializer)
    def post(self, request):
        try:
            return Response(screening_run(request.data))
        except ScreeningInputError as error:
            return Response(error.errors, status=400)

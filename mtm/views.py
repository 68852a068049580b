from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache

from mtm.permissions import Capability


@login_required
def home(request):
    if request.user.can(Capability.PORTAL):
        return redirect("portal")
    if request.user.can(Capability.PATIENT_VIEW):
        return redirect("patient_list")
    return redirect("password_change")


@never_cache
def healthz(request):
    """For load balancers and docker-compose: the app answers and its database does too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")

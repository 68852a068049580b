import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mtm.settings")

application = get_wsgi_application()

# Load (and validate: a broken one fails the start) what requests need before the first one comes.
from mtm.warmup import warm_up  # noqa: E402

warm_up()

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mtm.settings")

application = get_wsgi_application()

# Load and validate the drug knowledge base before the first request, and fail at start if it is broken.
from interactions.selectors import knowledge_base  # noqa: E402

knowledge_base()

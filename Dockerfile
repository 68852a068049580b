FROM python:3.11-slim-bookworm

# WeasyPrint needs Pango; fonts so PDFs render the same everywhere.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

# var/ is the volume of what must last (docker-compose.yml); the collected static files belong to the
# image they were built with, so they live outside it.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MTM_VAR_DIR=/app/var STATIC_ROOT=/app/staticfiles
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
RUN pip install --no-cache-dir -c constraints.txt .
COPY . .
RUN DEBUG=0 SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input \
 && useradd --system --home /app mtm && mkdir -p /app/var && chown -R mtm /app/var
USER mtm
EXPOSE 8000

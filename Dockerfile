# One image for every process of the site: web (gunicorn), worker and beat (Celery), and the one-off
# migrate job; docker-compose.yml runs it. Debian bookworm, like the machines scripts/dev sets up: the
# same GDAL/GEOS/PROJ for GeoDjango and the same PostgreSQL 15 client for `manage.py backup`.

# Front-end libraries: pinned in package.json, copied into static/vendor/ (nothing third-party committed).
FROM node:20-bookworm-slim AS frontend
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY scripts/copy-vendor.mjs scripts/
RUN node scripts/copy-vendor.mjs

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends gdal-bin postgresql-client \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 posture
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
COPY --from=frontend /app/static/vendor static/vendor
# Hashed, compressed static files for whitenoise, made once at build time. Production settings want a
# SECRET_KEY to load; collecting static files uses none, so a throwaway one does.
RUN DJANGO_ENV=production SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input -v 0 \
    && mkdir -p /data/media /data/backups && chown posture: /data/media /data/backups
USER posture
ENV DJANGO_ENV=production \
    PORT=8000 \
    GUNICORN_BIND=0.0.0.0:8000 \
    MEDIA_ROOT=/data/media \
    BACKUP_DIR=/data/backups
EXPOSE 8000
CMD ["gunicorn", "--config", "config/gunicorn.py", "--no-control-socket", "config.wsgi"]

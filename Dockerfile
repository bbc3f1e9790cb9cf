# One image for every Lantern process; its first argument says which:
#   rasa     the Rasa server (production profile: PostgreSQL, Redis)
#   actions  the Rasa action server
#   bot      the Telegram gateway
# The model is trained while the image is built, so nothing is downloaded or
# trained when a container starts. Build: docker build -t lantern .
FROM python:3.10.16-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RASA_TELEMETRY_ENABLED=false \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    HOME=/tmp \
    MPLCONFIGDIR=/tmp/matplotlib \
    OMP_NUM_THREADS=1 \
    OPENBLAS_NUM_THREADS=1 \
    MKL_NUM_THREADS=1 \
    MALLOC_ARENA_MAX=2 \
    LANTERN_PROFILE=production

WORKDIR /app

# Dependencies first, exactly as locked (hashes checked), in their own layer.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

# The project, then the model trained from it (Rasa's component cache off, as in scripts/train).
COPY config.yml domain.yml credentials.yml endpoints.production.yml ./
COPY actions ./actions
COPY bot ./bot
COPY catalogue ./catalogue
COPY rasa_ext ./rasa_ext
COPY data ./data
COPY deploy/entrypoint.sh /usr/local/bin/lantern
RUN RASA_MAX_CACHE_SIZE=0 rasa train --fixed-model-name lantern --out models --quiet \
    && rm -rf .rasa \
    && useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin lantern

USER 10001
EXPOSE 5005 5055 8443
ENTRYPOINT ["/usr/local/bin/lantern"]
CMD ["bot"]

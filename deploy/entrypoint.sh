#!/bin/sh
# The container's three commands: rasa | actions | bot (see the Dockerfile).
set -eu
case "${1:-bot}" in
  rasa)
    : "${RASA_TOKEN:?RASA_TOKEN must be set}"
    # `rasa run`, without loading TensorFlow (no component of the model uses it)
    exec python -m rasa_ext.tensorflow_free run --enable-api --auth-token "$RASA_TOKEN" \
      --model models/lantern.tar.gz --endpoints endpoints.production.yml \
      --credentials credentials.yml --port "${RASA_PORT:-5005}"
    ;;
  actions)
    exec python -m rasa_sdk --actions actions --port "${ACTION_PORT:-5055}"
    ;;
  bot)
    exec python -m bot
    ;;
  *)
    echo "usage: lantern rasa | actions | bot" >&2
    exit 64
    ;;
esac

#!/bin/sh
# The image's entry point: `syllabus <command> [args]` runs `python -m syllabus_<service>`
# for the service this image was built for (SYLLABUS_SERVICE, set at build time).
set -eu
: "${SYLLABUS_SERVICE:?SYLLABUS_SERVICE is not set}"
if [ "${1:-}" = "wait-for-migrations" ]; then
    shift
    exec python /app/bin/wait_for_migrations.py "$@"
fi
exec python -m "syllabus_${SYLLABUS_SERVICE}" "$@"

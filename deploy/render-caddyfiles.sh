#!/usr/bin/env bash
# Render the gateway's Caddyfiles for compose and Kubernetes from deploy/gateway/routes.toml,
# the one routing table, with syllabus_gateway's renderer.
#   deploy/render-caddyfiles.sh          rewrite both files
#   deploy/render-caddyfiles.sh --check  fail if either is stale (deploy/tests run this)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
ROUTES=deploy/gateway/routes.toml
COMPOSE_FILE=deploy/gateway/Caddyfile.compose
K8S_FILE=deploy/k8s/base/Caddyfile
# compose: each service is a container on the compose network; the sidecar is gateway-api.
COMPOSE_UPSTREAMS='{"identity": "identity:8000", "catalog": "catalog:8000", "content": "content:8000", "progress": "progress:8000", "assessment": "assessment:8000", "live": "live:8000", "web": "web:8000", "gateway": "gateway-api:8000"}'
# Kubernetes: each service is a Service in the same namespace; the sidecar shares the pod.
K8S_UPSTREAMS='{"identity": "identity:8000", "catalog": "catalog:8000", "content": "content:8000", "progress": "progress:8000", "assessment": "assessment:8000", "live": "live:8000", "web": "web:8000", "gateway": "127.0.0.1:8080"}'

render() {
    "$PYTHON" -m syllabus_gateway caddyfile --routes "$ROUTES" \
        --listen-host 0.0.0.0 --port 8000 --upstreams "$1"
}

if [[ "${1:-}" == "--check" ]]; then
    stale=0
    diff -u "$COMPOSE_FILE" <(render "$COMPOSE_UPSTREAMS") || stale=1
    diff -u "$K8S_FILE" <(render "$K8S_UPSTREAMS") || stale=1
    if [[ $stale == 1 ]]; then
        echo "stale Caddyfile(s): run deploy/render-caddyfiles.sh" >&2
    fi
    exit "$stale"
fi
render "$COMPOSE_UPSTREAMS" > "$COMPOSE_FILE"
render "$K8S_UPSTREAMS" > "$K8S_FILE"
echo "rendered $COMPOSE_FILE and $K8S_FILE"

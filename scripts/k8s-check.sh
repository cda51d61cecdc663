#!/usr/bin/env bash
# Checks the Kubernetes deployment in k8s/ offline, in a few seconds:
#   1. `kubectl kustomize` renders both overlays (dev, production);
#   2. every rendered object validates against the Kubernetes OpenAPI schema (kubernetes-validate,
#      strict) or, for custom resources, against its vendored CRD schema (k8s/schemas/), and every
#      lnfleet_* metric the alerts and the dashboard query is listed in docs/metrics.md
#      (scripts/k8s_validate.py);
#   3. `promtool check rules` on the PrometheusRule's groups and `promtool test rules` on
#      k8s/tests/alerts.test.yaml;
#   4. with BIN_DIR (where cargo put edge-node, gossip-service and hsm-service): the images the
#      manifests run against docker/*.Dockerfile and against those binaries' options
#      (scripts/k8s_images_check.py).
# Usage: scripts/k8s-check.sh [BIN_DIR]
# Installs what is missing: kubectl from Debian's kubernetes-client, promtool from Debian's
# prometheus, kubernetes-validate into the project venv. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

LNFLEET_CACHE="${LNFLEET_CACHE:-$HOME/.cache/lnfleet}"
VENV="$LNFLEET_CACHE/venv"

step() { printf '\n==> %s\n' "$*"; }
die() { printf '\nk8s-check failed: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root to run '$*' (no sudo found); install it by hand and rerun"
  fi
}

apt_updated=""
apt_install() {
  command -v apt-get >/dev/null || die "$1 is missing and apt-get is not available to install it"
  if [ -z "$apt_updated" ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=yes
  fi
  echo "installing $1 from Debian"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" >/dev/null
}

command -v kubectl >/dev/null || apt_install kubernetes-client
command -v kubectl >/dev/null || die "kubectl still missing after installing kubernetes-client"
command -v promtool >/dev/null || apt_install prometheus
command -v promtool >/dev/null || die "promtool still missing after installing prometheus"
if ! "$VENV/bin/python" -c 'import kubernetes_validate, jsonschema, yaml' 2>/dev/null; then
  [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV" || die "python3 -m venv failed: apt-get install python3-venv"
  "$VENV/bin/pip" install -q kubernetes-validate || die "pip install kubernetes-validate failed"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

step "kubectl kustomize ($(kubectl version --client 2>/dev/null | head -1))"
for overlay in dev production; do
  # Newer kustomize warns about fields that kubectl 1.20's still needs; keep stderr for errors.
  kubectl kustomize "k8s/overlays/$overlay" >"$work/$overlay.yaml" 2>"$work/$overlay.err" \
    || { cat "$work/$overlay.err" >&2; die "k8s/overlays/$overlay does not render"; }
  echo "rendered k8s/overlays/$overlay: $(grep -c '^kind:' "$work/$overlay.yaml") objects"
done

step "schemas (Kubernetes OpenAPI, vendored CRDs) and metric names"
"$VENV/bin/python" scripts/k8s_validate.py k8s/schemas docs/metrics.md \
  "$work/dev.yaml" "$work/production.yaml" || die "rendered manifests do not validate"

step "promtool check rules / test rules"
"$VENV/bin/python" - k8s/base/monitoring/prometheusrule.yaml "$work/lnfleet-alerts.rules.yaml" <<'PY'
import sys, yaml
rule = yaml.safe_load(open(sys.argv[1]))
yaml.safe_dump({"groups": rule["spec"]["groups"]}, open(sys.argv[2], "w"), sort_keys=False)
PY
cp k8s/tests/alerts.test.yaml "$work/"
promtool check rules "$work/lnfleet-alerts.rules.yaml" || die "promtool check rules"
promtool test rules "$work/alerts.test.yaml" || die "promtool test rules"
# Every alert needs a unit test that names it.
missing=""
for alert in $(grep -oE 'alert: [A-Za-z]+' k8s/base/monitoring/prometheusrule.yaml | cut -d' ' -f2); do
  grep -q "alertname: $alert\$" k8s/tests/alerts.test.yaml || missing="$missing $alert"
done
[ -z "$missing" ] || die "alerts without a unit test:$missing"

if [ -n "${1:-}" ]; then
  step "images: Dockerfiles, manifests and the options of the binaries in $1"
  "$VENV/bin/python" scripts/k8s_images_check.py docker "$1" "$work/dev.yaml" "$work/production.yaml" \
    || die "the manifests, the Dockerfiles and the binaries disagree"
fi

step "k8s checks passed"

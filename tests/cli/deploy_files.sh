#!/usr/bin/env bash
# deploy/ parses as what it claims to be: the Kubernetes kustomization renders (`kubectl kustomize`
# when kubectl is installed, else every YAML file parses with python3-yaml) with the probes,
# selectors and drain timing the docs describe; the systemd unit and the Containerfile name the
# drain and the store. haproxy.cfg and nginx.conf are run for real by lb_haproxy.sh / lb_nginx.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
K=$ROOT/deploy/k8s
if command -v kubectl >/dev/null; then
  out=$(kubectl kustomize "$K") || fail "kubectl kustomize deploy/k8s"
elif python3 -c 'import yaml' 2>/dev/null; then
  out=$(cat "$K"/*.yaml)
  for f in "$K"/*.yaml; do python3 -c 'import sys, yaml; list(yaml.safe_load_all(open(sys.argv[1])))' "$f" || fail "$f"; done
else
  echo "SKIP: neither kubectl nor python3-yaml"; exit 77
fi
for want in "path: /ready" "path: /health" "terminationGracePeriodSeconds: 45" "--shutdown-timeout" \
            "smolvlm_requests_waiting" "completionMode: Indexed" "--shard" "app.kubernetes.io/component: server"; do
  grep -qF -- "$want" <<<"$out" || fail "deploy/k8s lacks '$want'"
done
grep -q '^KillSignal=SIGTERM' "$ROOT/deploy/smolvlm.service" || fail "smolvlm.service: KillSignal"
grep -q '^TimeoutStopSec=45' "$ROOT/deploy/smolvlm.service" || fail "smolvlm.service: TimeoutStopSec"
grep -q '^USER smolvlm' "$ROOT/deploy/Containerfile" && grep -q '^VOLUME /models' "$ROOT/deploy/Containerfile" ||
  fail "Containerfile: non-root user and the store volume"
echo "deploy files: ok"

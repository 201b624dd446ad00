#!/bin/sh
# Helm post-renderer: reads the chart's rendered manifests on stdin and writes them with the
# signing key's init container (signing-key-init.yaml) added to the executor Deployment.
#
#   helm upgrade --install ... -f examples/kubernetes/executor-values.yaml \
#     --post-renderer examples/kubernetes/post-renderer.sh
#
# Needs kubectl (its built-in kustomize); works offline.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
cat > "$work/chart.yaml"
cp "$here/signing-key-init.yaml" "$work/signing-key-init.yaml"
cat > "$work/kustomization.yaml" <<'KUSTOMIZATION'
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - chart.yaml
patches:
  - path: signing-key-init.yaml
    target:
      kind: Deployment
      name: terrakube-executor
KUSTOMIZATION
kubectl kustomize "$work"

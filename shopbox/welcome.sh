#!/usr/bin/env bash
# Printed by the entrypoint when the shell starts: what is installed, which cluster, what to do next.
set -euo pipefail

kubectl_version=$(kubectl version --client --output=json 2>/dev/null | jq -r .clientVersion.gitVersion || true)
kind_version=$(kind version 2>/dev/null | awk '{print $2}' || true)
docker_version=$(docker version --format '{{.Client.Version}}' 2>/dev/null || true)
forge_version=$(forge --version 2>/dev/null | awk '{print $NF}' || true)
context=$(KUBECONFIG=/home/shopbox/.kube/config kubectl config current-context 2>/dev/null || echo "none")

cat <<TEXT
shopbox: the shell for "Building resilient microservices with Kubernetes, Docker and Envoy"
  kubectl ${kubectl_version:-?} | kind ${kind_version:-?} | docker ${docker_version:-?} | forge ${forge_version:-?} | hey
  kube context: ${context} | registry: \$REGISTRY = ${REGISTRY:-?} (the cluster pulls from it)
  in your browser, once exercises 5 and 6 deployed them: the edge ${SHOPBOX_EDGE_URL:-?}/qotm/ | Prometheus ${SHOPBOX_PROMETHEUS_URL:-?}/
${SHOPBOX_SEAT:+  seat ${SHOPBOX_SEAT} of class ${SHOPBOX_SEAT_CLASS:-?}, until ${SHOPBOX_SEAT_EXPIRES:-?} (./shopbox.sh join FILE doctor checks it): pages 1-2 run on your machine, 3-9 in the seat
}Next step: open exercises/01-docker.md (build and run QOTM with Docker). \`lab status\` shows where you are,
\`lab check\` what to do next, \`lab hint\` a hint, \`lab reset N\` puts you at the start of exercise N.
TEXT

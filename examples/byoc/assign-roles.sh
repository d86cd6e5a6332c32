#!/usr/bin/env bash
# Give the BYOC example's endpoint identity exactly the roles its secret references need.
#
#   ./assign-roles.sh                    # create what is missing (idempotent: a rerun changes nothing)
#   ./assign-roles.sh --dry-run          # print the equivalent `az role assignment create` commands only
#   ./assign-roles.sh --apply-network    # also add private-endpoint outbound rules under a managed network
#
# Any other flag is passed to `secret-injector grant` (e.g. --scope secret, --json). Environment:
#   ENDPOINT_NAME  the online endpoint (default: `name:` in endpoint.yml)
#   WORKSPACE_ID   the workspace ARM id (default: SECRET_INJECTOR_WORKSPACE_ID in deployment.yml)
#   DEPLOYMENT     the deployment YAML (default: deployment.yml beside this script)
#   CREDENTIAL     developer (default: your `az login`) or managed (this machine's managed identity)
# Needs: pip install 'secret-injector[deploy]'. Exit codes are secret-injector's (0 ok, 4 access denied, ...).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
deployment="${DEPLOYMENT:-$here/deployment.yml}"
endpoint="${ENDPOINT_NAME:-$(sed -n 's/^name:[[:space:]]*//p' "$here/endpoint.yml" | head -n 1)}"

if ! command -v secret-injector >/dev/null 2>&1; then
  echo "assign-roles.sh: secret-injector not found; pip install 'secret-injector[deploy]'" >&2
  exit 127
fi

args=(grant --deployment "$deployment" --endpoint "$endpoint" --credential "${CREDENTIAL:-developer}")
if [[ -n "${WORKSPACE_ID:-}" ]]; then
  args+=(--workspace-id "$WORKSPACE_ID")
fi
exec secret-injector "${args[@]}" "$@"

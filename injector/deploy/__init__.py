"""Deploy-time helpers: grant exactly the roles a deployment's secret references need, check the network path,
and preflight a running container.

    from injector import deploy

    the_plan = deploy.plan("deployment.yml", endpoint="my-endpoint", workspace_id=WORKSPACE_ID)
    report = deploy.grant("deployment.yml", endpoint="my-endpoint", workspace_id=WORKSPACE_ID, dry_run=True)
    result = deploy.check()            # inside the container, with its own identity; result.ok, result.rows

``plan`` and ``grant`` read the endpoint's identity through azure-ai-ml (``pip install
'secret-injector[deploy]'``); ``check`` needs only the runtime's dependencies. Names load on first use, so
importing this package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .deployer import Deployer, grant, plan
    from .granting import AssignmentOutcome, GrantReport, RuleOutcome
    from .identity import EndpointIdentity
    from .network import NetworkFinding, NetworkReport
    from .planning import Assignment, DeploymentPlan, Problem, Vault
    from .preflight import CheckReport, Row, Step, check
    from .roles import CONNECTIONS_ROLE, KEYVAULT_ROLE, Role

# name -> the module that defines it; loaded on first access (PEP 562). The modules are not named after the
# functions (``plan``, ``grant``, ``check``): importing a submodule would rebind the package attribute.
_EXPORTS = {
    "Deployer": "deployer",
    "plan": "deployer",
    "grant": "deployer",
    "check": "preflight",
    "CheckReport": "preflight",
    "Row": "preflight",
    "Step": "preflight",
    "DeploymentPlan": "planning",
    "Assignment": "planning",
    "Problem": "planning",
    "Vault": "planning",
    "GrantReport": "granting",
    "AssignmentOutcome": "granting",
    "RuleOutcome": "granting",
    "EndpointIdentity": "identity",
    "NetworkFinding": "network",
    "NetworkReport": "network",
    "Role": "roles",
    "CONNECTIONS_ROLE": "roles",
    "KEYVAULT_ROLE": "roles",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

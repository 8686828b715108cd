"""Elastic Beanstalk as AWS behaves, where moto 5.2.5 falls short.

moto creates environments with an empty CNAME and Grey health, and answers most write calls
with HTTP 500. This module patches moto in-process (before the server starts) so that the
Rust SDK, talking real HTTP to the server, sees what AWS would show. Add an API action by
defining a method on EBResponse named the way moto derives it from the action name
(see ../shared/EMULATOR.md: `SwapEnvironmentCNAMEs` -> `swap_environment_cnam_es`).
"""

from moto.elasticbeanstalk.responses import EBResponse


def _create_environment_like_aws(original):
    """CreateEnvironment, then give the environment what AWS gives it: a CNAME (from
    CNAMEPrefix, else the environment name), its requested tier, and Green/Ok/Ready health."""

    def create_environment(self):
        result = original(self)
        name = self._get_param("EnvironmentName")
        app = self.elasticbeanstalk_backend.applications[self._get_param("ApplicationName")]
        env = app.environments[name]
        prefix = self._get_param("CNAMEPrefix") or name
        tier = self._get_param("Tier") or {}
        if tier.get("Name") == "Worker":
            # Worker environments have no CNAME on AWS.
            env.tier = {"Name": "Worker", "Type": "SQS/HTTP", "Version": "1.0"}
        else:
            env.cname = f"{prefix}.{env.region}.elasticbeanstalk.com"
        env.status = "Ready"
        env.health = "Green"
        env.health_status = "Ok"
        return result

    return create_environment


def install():
    """Applies every extension; call once before the server starts."""
    if getattr(EBResponse, "_standin_extended", False):
        return
    EBResponse.create_environment = _create_environment_like_aws(EBResponse.create_environment)
    EBResponse._standin_extended = True

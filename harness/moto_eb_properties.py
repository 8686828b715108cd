"""Elastic Beanstalk's limit on an environment's properties, apart from moto_eb.py's model of
environments (which hooks it in UpdateEnvironment with one line).

"The combined size of all environment properties cannot exceed 4,096 bytes when stored as
strings with the format key=value" (Elastic Beanstalk developer guide, "Environment property
limits"): the properties an environment keeps and those an UpdateEnvironment sets, less those it
removes, each `key=value` in UTF-8, are at most 4096 bytes, or the update is refused and nothing
changes. What AWS answers then is not documented (see docs/aws-behaviour.md, Elastic
Beanstalk): InvalidParameterValue with the words AWS reports for an environment created with too
many, an assumption.
"""

from moto.elasticbeanstalk.exceptions import InvalidParameterValueError

PROPERTIES = "aws:elasticbeanstalk:application:environment"
MAX_BYTES = 4096
TOO_LARGE = (
    "Service:AmazonCloudFormation, Message:Template format error: Parameter 'EnvironmentVariables' "
    "default value '[****]' length is greater than 4096."
)


def properties_bytes(properties):
    """The bytes of `properties` ({key: value}) as Elastic Beanstalk counts them."""
    return sum(len(f"{key}={value}".encode()) for key, value in properties.items())


def refuse_oversized(settings, option_settings, options_to_remove):
    """Refuses an update after which the environment's properties would not fit. `settings`:
    the environment's options, {(namespace, name): value}; the others as the request gives them."""
    after = {name: value for (namespace, name), value in settings.items() if namespace == PROPERTIES}
    for option in option_settings or []:
        if option.get("Namespace") == PROPERTIES:
            after[option.get("OptionName")] = option.get("Value", "")
    for option in options_to_remove or []:
        if option.get("Namespace") == PROPERTIES:
            after.pop(option.get("OptionName"), None)
    if properties_bytes(after) > MAX_BYTES:
        raise InvalidParameterValueError(TOO_LARGE)

"""The catalogue of rules the OSB specification puts on the platform.

Each rule quotes the sentence it enforces, word for word from the newest version
that has it, and names the versions whose text has that sentence (or, where the
wording changed, an equivalent one). A request announcing a version outside a
rule's versions is not checked against it: where the spec says nothing, there is
no rule. Versions after 2.17 are checked as 2.17.

Rules left out on purpose, because no version's text supports them:

* fetching a *binding* whose offering is not ``bindings_retrievable``: the spec
  says what brokers must do, but never forbids the platform from asking;
* ``maintenance_info`` that differs from the catalog's: the broker must answer
  422 ``MaintenanceInfoConflict``; sending it is the platform's right (MAY).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

__all__ = [
    "LEVELS",
    "RULES",
    "Rule",
    "announced_version",
    "rule",
    "rules_for",
]

LEVELS = ("MUST", "MUST NOT", "SHOULD", "SHOULD NOT")
# The levels a strict test run fails on, and what --fail-on should covers too.
MUST_LEVELS = frozenset({"MUST", "MUST NOT"})
NEWEST = (2, 17)
SPEC_URL = "https://github.com/openservicebrokerapi/servicebroker/blob/v{version}/{file}#{anchor}"
VERSION = re.compile(r"^\s*([0-9]{1,6})\.([0-9]{1,6})\s*$")


def _versions(first: int, last: int = 17) -> frozenset[tuple[int, int]]:
    return frozenset((2, minor) for minor in range(first, last + 1))


@dataclass(frozen=True)
class Rule:
    id: str
    level: str
    summary: str
    quote: str
    section: str
    # The anchor of the section in the spec document (spec.md or profile.md).
    anchor: str
    versions: frozenset[tuple[int, int]]
    document: str = "spec.md"

    @property
    def url(self) -> str:
        newest = max(self.versions)
        return SPEC_URL.format(
            version=f"{newest[0]}.{newest[1]}", file=self.document, anchor=self.anchor
        )

    @property
    def since(self) -> str:
        first = min(self.versions)
        return f"{first[0]}.{first[1]}"

    def applies_to(self, version: tuple[int, int] | None) -> bool:
        """Whether a request announcing ``version`` is held to this rule."""
        if version is None:
            return False
        if version[0] == 2 and version > NEWEST:
            version = NEWEST
        return version in self.versions

    def spec(self) -> dict[str, object]:
        """The ``spec`` object of a finding: where the rule comes from."""
        return {
            "quote": self.quote,
            "section": self.section,
            "url": self.url,
            "since": self.since,
            "document": self.document,
        }


@functools.lru_cache(maxsize=64)
def announced_version(header: str | None) -> tuple[int, int] | None:
    """``(major, minor)`` of an ``X-Broker-API-Version`` value, or None if unusable."""
    if header is None:
        return None
    match = VERSION.match(header)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


_CATALOGUE = (
    Rule(
        id="version-header",
        level="MUST",
        summary="sent no X-Broker-API-Version header, or an unsupported or malformed one",
        quote=(
            "Requests from the Platform to the Service Broker MUST contain a header that "
            "declares the version number of the Open Service Broker API that the Platform "
            "is using"
        ),
        section="API Version Header",
        anchor="api-version-header",
        versions=_versions(11),
    ),
    Rule(
        id="operation-echo",
        level="MUST",
        summary=(
            "polled last_operation without the operation the broker returned, or with another one"
        ),
        quote=(
            "When a value for `operation` is included with asynchronous responses for "
            "Provision, Update, and Deprovision requests, the Platform MUST provide the same "
            "value using this query parameter as a percent-encoded string."
        ),
        section="Polling Last Operation for Service Instances",
        anchor="polling-last-operation-for-service-instances",
        versions=_versions(12),
    ),
    Rule(
        id="poll-too-soon",
        level="SHOULD",
        summary="polled last_operation again before the Retry-After the broker sent had passed",
        quote=(
            "The response MAY also include the `Retry-After` HTTP header. This header will "
            "indicate how long the Platform SHOULD wait before polling again and is intended "
            "to prevent unnecessary, and premature, calls to the `last_operation` endpoint."
        ),
        section="Polling Last Operation for Service Instances",
        anchor="polling-last-operation-for-service-instances",
        versions=_versions(15),
    ),
    Rule(
        id="polling-past-maximum-duration",
        level="SHOULD",
        summary="kept polling after the plan's maximum_polling_duration had passed",
        quote=(
            "If either the Platform or Service Plan's maximum polling duration is reached, "
            "the Platform SHOULD cease polling and the operation state MUST be considered "
            "`failed`."
        ),
        section="Polling Interval and Duration",
        anchor="polling-interval-and-duration",
        versions=_versions(15),
    ),
    Rule(
        id="poll-after-final",
        level="MUST",
        summary="polled last_operation again after the broker had answered succeeded or failed",
        quote=(
            'A response with `"state": "succeeded"` or `"state": "failed"` MUST cause the '
            "Platform to cease polling."
        ),
        section="Polling Last Operation for Service Instances",
        anchor="polling-last-operation-for-service-instances",
        versions=_versions(13),
    ),
    Rule(
        id="orphan-mitigation",
        level="SHOULD",
        summary=(
            "got an answer after which the orphan-mitigation table asks for a DELETE, and "
            "sent none within the window"
        ),
        quote=(
            "To mitigate orphaned Service Instances and Service Bindings, the Platform SHOULD "
            "attempt to delete resources it cannot be sure were successfully created, and "
            "SHOULD keep trying to delete them until the Service Broker responds with a success."
        ),
        section="Orphan Mitigation",
        anchor="orphan-mitigation",
        versions=_versions(13),
    ),
    Rule(
        id="bind-not-bindable",
        level="MUST NOT",
        summary="bound a service instance whose plan or offering is not bindable",
        quote=(
            'If `"bindable": true` is declared for a Service Offering or Service Plan in the '
            "Catalog endpoint, the Platform MAY request generation of a Service Binding. "
            "Otherwise, Platforms MUST NOT make a binding request to the Service Broker for "
            "any Service Instance using the given Service Offering or Service Plan."
        ),
        section="Binding",
        anchor="binding",
        versions=_versions(14),
    ),
    Rule(
        id="get-not-retrievable",
        level="SHOULD NOT",
        summary="fetched a service instance whose offering is not instances_retrievable",
        quote=(
            'If `"instances_retrievable" :true` is declared for a Service Offering in the '
            "Catalog endpoint, Service Brokers MUST support this endpoint [...]. Otherwise, "
            "Platforms SHOULD NOT attempt to call this endpoint under any circumstances."
        ),
        section="Fetching a Service Instance",
        anchor="fetching-a-service-instance",
        versions=_versions(14),
    ),
    Rule(
        id="deprovision-with-bindings",
        level="MUST",
        summary="deprovisioned a service instance that still had service bindings",
        quote=(
            "Platforms MUST delete all Service Bindings for a Service Instance prior to "
            "attempting to deprovision the Service Instance."
        ),
        section="Deprovisioning",
        anchor="deprovisioning",
        versions=_versions(14),
    ),
    Rule(
        id="context-platform",
        level="MUST",
        summary="sent a context object without a platform property",
        quote=(
            "Aside from the Platform specific properties, defined in the following sections, "
            "there is one common property called `platform` that MUST also appear within "
            "`context` to indicate which Platform is being used."
        ),
        section="Context Object",
        anchor="context-object",
        versions=_versions(12),
        document="profile.md",
    ),
    Rule(
        id="identity-platform-mismatch",
        level="MUST",
        summary="sent an originating identity whose platform differs from context.platform",
        quote=(
            "When `context` is sent as part of a message, this value MUST be the same as the "
            "`context.platform` value."
        ),
        section="Originating Identity",
        anchor="originating-identity",
        versions=_versions(13),
    ),
    Rule(
        id="identity-properties",
        level="MUST",
        summary="sent an originating identity without the properties its platform's profile "
        "requires",
        quote="The following properties MUST appear within the JSON encoded `value`:",
        section="Originating Identity Header",
        anchor="originating-identity-header",
        versions=_versions(13),
        document="profile.md",
    ),
    Rule(
        id="id-reuse",
        level="SHOULD NOT",
        summary="reused the id of a service instance or binding it had deleted",
        quote="Platforms SHOULD NOT reuse IDs, since Service Brokers MAY NOT support this.",
        section="Provisioning",
        anchor="provisioning",
        versions=_versions(16),
    ),
    Rule(
        id="delete-without-ids",
        level="MUST",
        summary="sent a deprovision or unbind request without service_id and plan_id",
        quote=(
            "service_id* | MUST be the ID of the Service Offering associated with the Service "
            "Instance being deleted. plan_id* | MUST be the ID of the Service Plan associated "
            "with the Service Instance being deleted. (* Query parameters with an asterisk "
            "are REQUIRED.)"
        ),
        section="Deprovisioning",
        anchor="deprovisioning",
        versions=_versions(13),
    ),
    Rule(
        id="plan-not-updateable",
        level="MUST NOT",
        summary="asked for a plan change on a plan that is not plan_updateable",
        quote=(
            'If `"plan_updateable": true` is declared for a Service Plan in the Catalog '
            "endpoint, the Platform MAY request a Service Plan change on a Service Instance "
            "using the given Service Plan. Otherwise, Platforms MUST NOT make any Service Plan "
            "change requests to the Service Broker for any Service Instance using the given "
            "Service Plan"
        ),
        section="Updating a Service Instance",
        anchor="updating-a-service-instance",
        versions=_versions(14),
    ),
    Rule(
        id="binding-not-rotatable",
        level="MUST NOT",
        summary="rotated a service binding (predecessor_binding_id) of a plan that is not "
        "binding_rotatable",
        quote=(
            "If the field is set to `false` or not present, the Platform MUST NOT attempt to "
            "rotate a Service Binding of this plan."
        ),
        section="Binding Rotation",
        anchor="binding-rotation",
        versions=_versions(17),
    ),
    Rule(
        id="predecessor-binding",
        level="MUST",
        summary="named a predecessor_binding_id that is not a live binding of the same instance",
        quote=(
            "The value of this field MUST be the Service Binding ID of a non-expired Service "
            "Binding of the same Service Instance."
        ),
        section="Binding Rotation",
        anchor="binding-rotation",
        versions=_versions(17),
    ),
)

RULES: dict[str, Rule] = {found.id: found for found in _CATALOGUE}


def rule(rule_id: str) -> Rule:
    """The rule named ``rule_id``; KeyError for an id the catalogue does not have."""
    return RULES[rule_id]


@functools.lru_cache(maxsize=64)
def rules_for(version: tuple[int, int] | None) -> frozenset[str]:
    """The ids of the rules a request announcing ``version`` is held to."""
    return frozenset(found.id for found in _CATALOGUE if found.applies_to(version))

"""``parameters``: credentials the platform user supplies (a user-provided service).

Like the user-provided broker of Kubernetes Service Catalog: the provision
parameter ``credentials`` (an object) holds the credentials of every binding; a
bind parameter ``credentials`` adds keys or overrides them for that binding.

```sh
cf create-service user-provided default my-api -c '{"credentials": {"uri": "https://..."}}'
```

Options (all optional): ``required``, keys the merged credentials must contain;
``type`` and ``provider``, servicebinding.io keys added when the user sent none.
Bad parameters are refused with 400 ``InvalidParameters`` before anything is
written (see :meth:`ParametersBackend.parameter_problems`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from marshmallow import RAISE, Schema, fields, validate

from broker.credentials.base import BackendError, BindingRequest, BindResult, LocalBackend
from broker.credentials.options import schema_problems

__all__ = ["ParametersBackend"]

KEY = "credentials"


class ParametersOptions(Schema):
    class Meta:
        unknown = RAISE

    required = fields.List(fields.String(validate=validate.Length(min=1)))
    type = fields.String(validate=validate.Length(min=1))
    provider = fields.String(validate=validate.Length(min=1))


def _given(parameters: Mapping[str, Any]) -> Mapping[str, Any]:
    value = parameters.get(KEY)
    return value if isinstance(value, Mapping) else {}


def merged_credentials(
    instance_parameters: Mapping[str, Any], binding_parameters: Mapping[str, Any]
) -> dict[str, Any]:
    """The provision ``credentials`` with the bind ``credentials`` laid over them."""
    return {**_given(instance_parameters), **_given(binding_parameters)}


class ParametersBackend(LocalBackend):
    name: ClassVar[str] = "parameters"

    @classmethod
    def option_problems(cls, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        return schema_problems(ParametersOptions(), options)

    @classmethod
    def parameter_problems(
        cls,
        options: Mapping[str, Any],
        purpose: str,
        parameters: Mapping[str, Any],
        instance_parameters: Mapping[str, Any],
    ) -> list[str]:
        """Problems with ``parameters.credentials`` for provision, update or bind."""
        if KEY in parameters and not isinstance(parameters[KEY], Mapping):
            return [f"parameters.{KEY} must be an object, got {type(parameters[KEY]).__name__}"]
        if purpose != "binding_create":
            return []
        credentials = merged_credentials(instance_parameters, parameters)
        if not credentials:
            return [
                f"no credentials to bind: send parameters.{KEY} (an object) when "
                "provisioning the instance or when binding"
            ]
        missing = [key for key in options.get("required", ()) if key not in credentials]
        if missing:
            return [f"credentials lack the required key(s) {', '.join(missing)}"]
        return []

    def bind(self, request: BindingRequest) -> BindResult:
        options = request.instance.options
        problems = self.parameter_problems(
            options, "binding_create", request.parameters, request.instance.parameters
        )
        if problems:
            # Only reachable when the broker skipped the check (e.g. a catalog changed
            # between the request and an asynchronous bind finishing).
            raise BackendError("; ".join(problems))
        credentials = merged_credentials(request.instance.parameters, request.parameters)
        for key in ("type", "provider"):
            if key in options:
                credentials.setdefault(key, options[key])
        return BindResult(credentials=credentials)

"""``static``: the credentials written in the catalog, for every binding of the plan.

```yaml
credentials:
  backend: static
  options:
    credentials:
      uri: https://api.example.test/v1
      api_key: "${random_token:32}"
      tenant: "${instance_id}"
```

Strings may hold the same ``${...}`` templates as ``credentials.extra`` (instance and
binding variables, generators); generated values differ per binding and repeat
with ``credential_seed``. Nothing is created anywhere, so provision, unbind and
deprovision have nothing to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from marshmallow import RAISE, Schema, fields, validate

from broker.credentials.base import BackendError, BindingRequest, BindResult, LocalBackend
from broker.credentials.options import schema_problems
from broker.credentials.randomness import rng_for
from broker.templating import TemplateError, render, template_problems

__all__ = ["StaticBackend"]


class StaticOptions(Schema):
    class Meta:
        unknown = RAISE

    credentials = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1)),
        required=True,
        validate=validate.Length(min=1, error="must hold at least one key"),
    )


class StaticBackend(LocalBackend):
    name: ClassVar[str] = "static"

    @classmethod
    def option_problems(cls, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems = schema_problems(StaticOptions(), options)
        credentials = options.get("credentials")
        if isinstance(credentials, Mapping):
            problems += template_problems(credentials, "credentials", {"instance", "binding"})
        return problems

    def bind(self, request: BindingRequest) -> BindResult:
        rng = rng_for(self._seed, request.instance.instance_id, request.binding_id, "static")
        try:
            credentials = render(request.instance.options["credentials"], request.variables, rng)
        except TemplateError as exc:
            raise BackendError(f"cannot render the plan's credentials: {exc}") from None
        return BindResult(credentials=dict(credentials))

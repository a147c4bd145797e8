"""One service of a real-backend catalog, provisioned and bound over OSB by the tests.

Every instance and binding id is registered with :class:`Leftovers` before it is used,
so a failed test leaves nothing on the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support.leftovers import Leftovers, unique
from tests.support.osb import OSB, Answer


@dataclass(frozen=True)
class RealService:
    name: str
    # Start of the instance ids (``pg``, ``my`` …), to tell a run's leftovers apart.
    label: str

    def provisioned(self, osb: OSB, made: Leftovers, plan: str = "standard") -> str:
        """A new instance of ``plan``; asserts the 201."""
        instance_id = made.instance(unique(self.label))
        answer = osb.provision(instance_id, self.name, plan)
        assert answer.status == 201, answer.json
        return instance_id

    def bound(self, osb: OSB, made: Leftovers, instance_id: str) -> tuple[str, dict[str, Any]]:
        """(binding id, credentials) of a new binding; asserts the 201."""
        binding_id = made.binding(instance_id, unique("bind"))
        answer = osb.bind(instance_id, binding_id, self.name, "standard")
        assert answer.status == 201, answer.json
        return binding_id, answer.json["credentials"]


def assert_backend_failed(answer: Answer, *fragments: str) -> None:
    """A 500 ``BackendError`` whose description holds every fragment."""
    assert answer.status == 500, answer.json
    assert answer.json["error"] == "BackendError"
    for fragment in fragments:
        assert fragment in answer.json["description"]

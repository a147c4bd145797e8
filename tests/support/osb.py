"""A thin OSB caller over Flask's test client or httpx, with the usual headers preset."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

API_VERSION = "2.17"

# The spec's sample descriptions, word for word (written out here, not imported, so a
# change in the broker's wording fails the tests).
SPEC_SENTENCES = {
    "AsyncRequired": (
        "This service plan requires client support for asynchronous service operations."
    ),
    "ConcurrencyError": (
        "The Service Broker does not support concurrent requests that mutate the same resource."
    ),
    "RequiresApp": (
        "This service supports generation of credentials through binding an application only."
    ),
}
DETAIL_FIELD = "mockbroker_detail"


def basic(username: str = "broker", password: str = "broker") -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def identity(platform: str = "kubernetes", **value: Any) -> str:
    """An X-Broker-API-Originating-Identity header value."""
    payload = value or {"username": "alice", "uid": "1000", "groups": ["admins"]}
    return f"{platform} {base64.b64encode(json.dumps(payload).encode()).decode()}"


@dataclass
class Answer:
    status: int
    json: Any
    headers: dict[str, str]
    text: str


@dataclass
class OSB:
    """Calls /v2 (or /admin) with credentials and X-Broker-API-Version set.

    ``client`` is a Flask test client or an ``httpx.Client`` with a base URL.
    """

    client: Any
    auth: str = field(default_factory=basic)
    version: str | None = API_VERSION

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        query: dict[str, Any] | None = None,
        raw: bytes | str | None = None,
    ) -> Answer:
        sent = {"Authorization": self.auth}
        if self.version is not None:
            sent["X-Broker-API-Version"] = self.version
        sent.update(headers or {})
        kwargs: dict[str, Any] = {"headers": {k: v for k, v in sent.items() if v is not None}}
        if query:
            kwargs["params" if not hasattr(self.client, "application") else "query_string"] = query
        if json_body is not None:
            body = json.dumps(json_body)
            kwargs["content" if not hasattr(self.client, "application") else "data"] = body
            kwargs["headers"].setdefault("Content-Type", "application/json")
        if raw is not None:
            kwargs["content" if not hasattr(self.client, "application") else "data"] = raw
        if hasattr(self.client, "application"):  # Flask test client
            response = self.client.open(path, method=method, **kwargs)
        else:  # httpx.Client
            response = self.client.request(method, path, **kwargs)
        text = response.get_data(as_text=True) if hasattr(response, "get_data") else response.text
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = None
        return Answer(response.status_code, body, dict(response.headers), text)

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.request("GET", path, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Answer:
        return self.request("PUT", path, json_body=body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> Answer:
        return self.request("PATCH", path, json_body=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Answer:
        return self.request("DELETE", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Answer:
        return self.request("POST", path, json_body=body, **kwargs)

    # --- conveniences -----------------------------------------------------------------
    def ids(self, service: str, plan: str) -> tuple[str, str]:
        """(service_id, plan_id) of a service and plan by name, from GET /v2/catalog."""
        catalog = self.get("/v2/catalog").json
        for offering in catalog["services"]:
            if offering["name"] == service:
                for candidate in offering["plans"]:
                    if candidate["name"] == plan:
                        return offering["id"], candidate["id"]
        raise LookupError(f"{service}/{plan} is not in the catalog")

    def provision_body(self, service: str, plan: str, **fields: Any) -> dict[str, Any]:
        """A provision body for a service and plan by name (in org-1, space-1), plus ``fields``."""
        service_id, plan_id = self.ids(service, plan)
        return {
            "service_id": service_id,
            "plan_id": plan_id,
            "organization_guid": "org-1",
            "space_guid": "space-1",
            **fields,
        }

    def provision(
        self,
        instance_id: str,
        service: str,
        plan: str,
        *,
        accepts_incomplete: bool = False,
        headers: dict[str, str] | None = None,
        **fields: Any,
    ) -> Answer:
        body = self.provision_body(service, plan, **fields)
        query = {"accepts_incomplete": "true"} if accepts_incomplete else None
        return self.put(f"/v2/service_instances/{instance_id}", body, query=query, headers=headers)

    def bind(
        self,
        instance_id: str,
        binding_id: str,
        service: str,
        plan: str,
        *,
        accepts_incomplete: bool = False,
        headers: dict[str, str] | None = None,
        **fields: Any,
    ) -> Answer:
        service_id, plan_id = self.ids(service, plan)
        query = {"accepts_incomplete": "true"} if accepts_incomplete else None
        return self.put(
            f"/v2/service_instances/{instance_id}/service_bindings/{binding_id}",
            {"service_id": service_id, "plan_id": plan_id, **fields},
            query=query,
            headers=headers,
        )

    def change_plan(self, instance_id: str, service: str, plan: str) -> Answer:
        """PATCH an instance of ``service`` onto its plan named ``plan``."""
        service_id, plan_id = self.ids(service, plan)
        return self.patch(
            f"/v2/service_instances/{instance_id}", {"service_id": service_id, "plan_id": plan_id}
        )

    def deprovision(
        self, instance_id: str, service: str, plan: str, *, accepts_incomplete: bool = False
    ) -> Answer:
        service_id, plan_id = self.ids(service, plan)
        query = {"service_id": service_id, "plan_id": plan_id}
        if accepts_incomplete:
            query["accepts_incomplete"] = "true"
        return self.delete(f"/v2/service_instances/{instance_id}", query=query)

    def unbind(
        self,
        instance_id: str,
        binding_id: str,
        service: str,
        plan: str,
        *,
        accepts_incomplete: bool = False,
    ) -> Answer:
        service_id, plan_id = self.ids(service, plan)
        query = {"service_id": service_id, "plan_id": plan_id}
        if accepts_incomplete:
            query["accepts_incomplete"] = "true"
        return self.delete(
            f"/v2/service_instances/{instance_id}/service_bindings/{binding_id}", query=query
        )

    def last_operation(
        self, instance_id: str, operation: str | None = None, binding_id: str | None = None
    ) -> Answer:
        path = f"/v2/service_instances/{instance_id}"
        if binding_id is not None:
            path += f"/service_bindings/{binding_id}"
        return self.get(
            f"{path}/last_operation", query={"operation": operation} if operation else None
        )

    def poll(
        self,
        instance_id: str,
        operation: str | None = None,
        binding_id: str | None = None,
        limit: int = 20,
    ) -> Answer:
        """Poll last_operation until it is no longer "in progress" (at most ``limit`` polls)."""
        for _ in range(limit):
            answer = self.last_operation(instance_id, operation, binding_id)
            if answer.status != 200 or answer.json["state"] != "in progress":
                return answer
        raise AssertionError(f"still in progress after {limit} polls: {answer.json}")


def expect_error(
    answer: Answer, status: int, error: str | None = None, *fragments: str
) -> dict[str, Any]:
    """Assert an OSB error answer: the status, ``{"error", "description"}`` and nothing else.

    ``instance_usable``/``update_repeatable`` are refused here; tests of failed
    updates and deprovisions check those fields themselves. Every fragment must
    appear in the description, or, for the codes whose description is the spec's
    sample sentence, in the broker's detail field next to it.
    """
    assert answer.status == status, f"expected {status}, got {answer.status}: {answer.text}"
    body = answer.json
    assert isinstance(body, dict), f"error body is not a JSON object: {answer.text!r}"
    detailed = body.get("error") in SPEC_SENTENCES
    allowed = {"error", "description", DETAIL_FIELD} if detailed else {"error", "description"}
    assert {"error", "description"} <= set(body) <= allowed, f"unexpected error fields: {body}"
    assert (
        isinstance(body["error"], str) and body["error"][:1].isupper() and body["error"].isalnum()
    )
    assert isinstance(body["description"], str) and body["description"]
    if error is not None:
        assert body["error"] == error, body
    if detailed:
        assert body["description"] == SPEC_SENTENCES[body["error"]], body
    said = body.get(DETAIL_FIELD, body["description"]) if detailed else body["description"]
    for fragment in fragments:
        assert fragment in said, f"{fragment!r} not in {said!r}"
    return body

"""``python -m bench.trace provision``: the files a request passes through, from view to store.

One request is sent through Flask's test client of :func:`broker.create_app` (memory
store by default, ``--store sqlite`` for the SQLite one) while :func:`sys.setprofile`
watches every Python call and return. Only frames whose code lives in a ``broker/``
source file count; library code (Flask, werkzeug, marshmallow, sqlite3) is skipped
over. A *file switch* is two consecutive broker frames — by call or by return — in
different files. The trace starts when the view function of the request's endpoint
is entered and ends when it returns, so the request hooks (credentials, logging,
metrics, the journal) are left out: what is measured is the path from the view to
the store and back.

It prints the files in the order they were entered (runs of one file collapsed),
the number of distinct files and the number of switches. A setup request (a
provision, for ``bind`` and later steps) runs untraced first.
"""

from __future__ import annotations

import argparse
import base64
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

__all__ = ["Trace", "main", "trace_request", "trace_step"]

BROKER = Path(__file__).resolve().parent.parent / "broker"
AUTH = {
    "Authorization": "Basic " + base64.b64encode(b"broker:broker").decode(),
    "X-Broker-API-Version": "2.17",
}
# A plan whose every operation is synchronous (the bench's lifecycle plan).
SERVICE_NAME, PLAN_NAME = "mock-async", "sync"
INSTANCE, BINDING = "trace-instance", "trace-binding"
STEPS = ("provision", "bind", "unbind", "deprovision", "catalog")


@dataclass
class Trace:
    """Broker files in call order, consecutive repeats collapsed."""

    files: list[str] = field(default_factory=list)

    def see(self, filename: str) -> None:
        if not self.files or self.files[-1] != filename:
            self.files.append(filename)

    @property
    def switches(self) -> int:
        return max(len(self.files) - 1, 0)


def _broker_file(filename: str) -> str | None:
    try:
        relative = Path(filename).resolve().relative_to(BROKER.parent)
    except ValueError:
        return None
    return str(relative) if relative.parts[0] == "broker" else None


def trace_request(call: Callable[[], Any], view_name: str) -> Trace:
    """Trace ``call`` from the entry of the function named ``view_name`` to its return."""
    trace = Trace()
    depth = 0  # > 0 while inside the view
    names: dict[str, str | None] = {}

    def profile(frame: FrameType, event: str, _arg: Any) -> None:
        nonlocal depth
        if event not in ("call", "return"):
            return
        code = frame.f_code
        filename = code.co_filename
        if filename not in names:
            names[filename] = _broker_file(filename)
        relative = names[filename]
        if relative is None:
            return
        if depth == 0:
            if event == "call" and code.co_name == view_name and "web" in relative:
                depth = 1
                trace.see(relative)
            return
        if event == "call":
            depth += 1
            trace.see(relative)
            return
        depth -= 1
        if depth == 0:
            trace.see(relative)
            return
        # Returning lands in the caller: that is the frame execution continues in.
        caller = frame.f_back
        while caller is not None:
            back = names.get(caller.f_code.co_filename)
            if back is None and caller.f_code.co_filename not in names:
                back = names[caller.f_code.co_filename] = _broker_file(caller.f_code.co_filename)
            if back is not None:
                trace.see(back)
                break
            caller = caller.f_back

    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(None)
    return trace


def _plan_ids(client: Any) -> tuple[str, str]:
    """The ids of the lifecycle plan, read from the broker's own catalog."""
    for service in client.get("/v2/catalog", headers=AUTH).get_json()["services"]:
        if service["name"] == SERVICE_NAME:
            for plan in service["plans"]:
                if plan["name"] == PLAN_NAME:
                    return service["id"], plan["id"]
    raise SystemExit(f"the catalog lacks {SERVICE_NAME}/{PLAN_NAME}")


def _requests(client: Any) -> dict[str, tuple[Callable[[], Any], str]]:
    service_id, plan_id = _plan_ids(client)
    instance_path = f"/v2/service_instances/{INSTANCE}"
    binding_path = f"{instance_path}/service_bindings/{BINDING}"
    query = f"?service_id={service_id}&plan_id={plan_id}"
    body = {
        "service_id": service_id,
        "plan_id": plan_id,
        "organization_guid": "org",
        "space_guid": "space",
    }
    return {
        "catalog": (lambda: client.get("/v2/catalog", headers=AUTH), "catalog"),
        "provision": (lambda: client.put(instance_path, json=body, headers=AUTH), "provision"),
        "bind": (lambda: client.put(binding_path, json=body, headers=AUTH), "bind"),
        "unbind": (lambda: client.delete(binding_path + query, headers=AUTH), "unbind"),
        "deprovision": (
            lambda: client.delete(instance_path + query, headers=AUTH),
            "deprovision",
        ),
    }


def trace_step(step: str, store: str = "memory") -> tuple[int, Trace]:
    """Trace one ``step`` of the lifecycle plan on a new broker; its status and trace."""
    from broker import create_app

    folder = Path(tempfile.mkdtemp(prefix="mockbroker-trace-"))
    url = "memory://" if store == "memory" else f"sqlite:///{folder / 'broker.db'}"
    app = create_app(store=url, data_dir=folder, journal_size=0)
    client = app.test_client()
    requests = _requests(client)
    order = ("provision", "bind", "unbind", "deprovision")
    if step in order:
        for earlier in order[: order.index(step)]:
            requests[earlier][0]()  # untraced setup
    call, view = requests[step]
    call()  # warm: first-request imports and caches stay out of the trace
    if step in order:
        # Undo the warm-up so the traced request does the real work again.
        undo = {"provision": "deprovision", "bind": "unbind"}
        if step in undo:
            requests[undo[step]][0]()
        else:
            redo = {"unbind": "bind", "deprovision": "provision"}[step]
            requests[redo][0]()
    status: list[int] = []
    trace = trace_request(lambda: status.append(call().status_code), view)
    return status[0], trace


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.trace", description=__doc__)
    parser.add_argument("step", choices=STEPS, help="the request to trace")
    parser.add_argument("--store", choices=("memory", "sqlite"), default="memory")
    args = parser.parse_args(argv)
    status, trace = trace_step(args.step, args.store)
    print(f"{args.step}: HTTP {status}, store {args.store}")
    for number, name in enumerate(trace.files):
        print(f"  {number:3d}  {name}")
    print(f"distinct files: {len(set(trace.files))}")
    print(f"file switches: {trace.switches}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

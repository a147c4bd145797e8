"""``mockbroker ctl``: kubectl/svcat-like commands over the local store and the controller."""

from broker.controller.ctl.group import ctl

__all__ = ["ctl"]

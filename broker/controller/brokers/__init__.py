"""ClusterServiceBrokers: catalog relists, and the ClusterServiceClasses and Plans they keep."""

from broker.controller.brokers.catalog_sync import collect_removed_catalog_entries
from broker.controller.brokers.relist import reconcile_broker, relist_seconds

__all__ = ["collect_removed_catalog_entries", "reconcile_broker", "relist_seconds"]

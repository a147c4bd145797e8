"""Catalogs: YAML authoring format, checks, and the immutable loaded model."""

from broker.catalog.model import Catalog, Plan, Service
from broker.catalog.problems import CatalogError, Problem

__all__ = ["Catalog", "CatalogError", "Plan", "Problem", "Service"]

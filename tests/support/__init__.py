"""Test support: HTTP helpers, real servers on free ports, real backing services."""

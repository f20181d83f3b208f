"""Audit events and sinks, anomaly detectors."""

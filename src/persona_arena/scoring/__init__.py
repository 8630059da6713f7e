"""Metrics, summaries and (later) taggers over recorded event logs."""

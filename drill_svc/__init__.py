"""Drills (应急演练): scenarios run against the live system through its public API, and
their evaluation."""

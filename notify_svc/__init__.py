"""Notify: rosters, routing by level, channels, deliveries, acknowledgements."""

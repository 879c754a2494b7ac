"""Code every Beacon service shares: settings, events, bus, database, outbox/inbox, logging."""

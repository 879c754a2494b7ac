"""The command-center console: pages, sessions and live updates."""

"""Sentiment consumes no events yet: mentions arrive over HTTP from monitoring bots."""

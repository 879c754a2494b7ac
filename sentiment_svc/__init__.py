"""Sentiment: media mentions, their scores, clusters and spike state."""

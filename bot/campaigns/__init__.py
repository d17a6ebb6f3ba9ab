"""Campaigns and quiz pushes: APScheduler decides when, a durable outbox holds one row per recipient,
and per-channel senders drain it within each platform's limits (see docs/campaigns.md)."""

"""Billing: plans and their rate windows, subscriptions (which plan a user is on, until when), quotas (the atomic
sliding-window consume, the daily token cap, reset chances) and usage accounting."""

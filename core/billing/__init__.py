"""Billing: plans and their rate windows, subscriptions (which plan a user is on, until when), the purchase rule
(where bought or granted time lands), quotas (the atomic sliding-window consume, the daily token cap, reset chances),
usage accounting, orders and XunhuPay payments (credited once, reconciled in the background), redemption codes, and
invitation rewards with the commission ledger."""

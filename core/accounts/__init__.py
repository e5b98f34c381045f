"""Accounts: users and their sign-in addresses, registration and invitations, passwords, sign-in and sessions,
verification codes, throttling, personal API keys, and channel identities (a WeChat openid or a Telegram user id
mapped to one account)."""

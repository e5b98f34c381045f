"""The web layer: the Quart plumbing both apps (webui, admin) and the channel webhooks stand on.

The base app (web.app), security headers (web.security), compression (web.compression), language choice
(web.i18n, web.messages), error handlers (web.errors), body validation (web.validation), the client's address,
safe redirects and CSRF checks (web.requests), static files and the design system (web.assets), and access to the
services (web.context). It imports core only; webui and admin import it, never each other.
"""

"""The store: connecting to a Redis-protocol server (core.store.connection) or starting the embedded one
(core.store.embedded), the key schema (core.store.keys: every key name, only there), the Lua scripts
(core.store.lua: every atomic check-then-act, only there), and this process's caches of what every request reads
(core.store.config_cache for runtime config, over core.store.single_flight)."""

"""The relay: the model catalogue and its upstreams (core.relay.catalogue), choosing an upstream and keeping its
health (core.relay.upstreams), sending a request with failover (core.relay.engine), classifying failures
(core.relay.failures) and reading the upstream's stream (core.relay.stream over core.relay.upstream_sse)."""

"""How many accounts may be registered from one IP and from one network (IPv4 /24, IPv6 /64) per window.

A slot is taken once the address being registered was claimed (so concurrent tries of one address, all but one
refused as already registered, cost nothing) and before the account is written; a refused registration writes
nothing. Counters are fixed windows (REGISTER_WINDOW_SECONDS) in `reg:ip:<ip>` and `reg:net:<network>`.
"""

from __future__ import annotations

import ipaddress

from core.errors import TooManyAttempts
from core.settings import Settings
from core.store.connection import Store


def network_of(ip: str) -> str:
    """Return the /24 (IPv4) or /64 (IPv6) an address belongs to; anything else stands for itself."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


async def take_signup_slot(store: Store, settings: Settings, ip: str) -> None:
    """Count one registration from `ip` and its network, or raise TooManyAttempts (counting nothing)."""
    window = settings.REGISTER_WINDOW_SECONDS
    limits = [(store.keys.register_ip(ip), settings.REGISTER_MAX_PER_IP),
              (store.keys.register_network(network_of(ip)), settings.REGISTER_MAX_PER_SUBNET)]  # fmt: skip
    taken: list[str] = []
    for key, limit in limits:
        counted, value = await store.scripts.run("take_attempt", [key], [window, limit])
        if not counted:
            for earlier in taken:
                await store.scripts.run("return_attempt", [earlier])
            raise TooManyAttempts(retry_after=max(1, int(value)), scope="registration")
        taken.append(key)

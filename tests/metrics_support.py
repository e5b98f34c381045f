"""Reading the metrics as a scraper does: `GET /metrics` on a dashboard app over the given services."""

from __future__ import annotations

from admin import create_admin_app
from core.services import Services


async def scrape(services: Services, *others: Services) -> dict[str, float]:
    """Return every series of `GET /metrics` (`name{labels}` -> value); `others` (other "processes") flush first,
    as their flush loops would have."""
    for other in others:
        await other.metrics.flush(other.store)
    app = create_admin_app(services)
    async with app.test_app():
        response = await app.test_client().get("/metrics")
        assert response.status_code == 200
        text = await response.get_data(as_text=True)
    series: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            series[name] = float(value)
    return series


def labelled(name: str, **labels: object) -> str:
    """Return the series name of `name` with `labels`, as the metrics write it (labels sorted)."""
    inner = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    return f"{name}{{{inner}}}"

from core.metrics import MAX_NAMES, Metrics


def test_series_names_are_built_once_per_label_set_and_bounded() -> None:
    metrics = Metrics("i")
    metrics.inc("x_total", route="/a", status=200)
    metrics.inc("x_total", status=200, route="/a")  # another order, the same series
    assert metrics.pending == {'x_total{route="/a",status="200"}': 2.0}
    for n in range(MAX_NAMES + 5):
        metrics.inc("x_total", route=f"/{n}")
    assert len(metrics.names) <= MAX_NAMES
    metrics.inc("y_total", tags=["a list"])  # not a possible key: built each time, still counted
    metrics.inc("y_total", tags=["a list"])
    assert metrics.pending["y_total{tags=\"['a list']\"}"] == 2.0

"""Reading Prometheus's text format the way a scraper does."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels` (0 when none):
    a gauge kept per process (multiprocess mode's pid label) adds up."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                total += found.value
    return total


def names(text: str) -> set[str]:
    families = text_string_to_metric_families(text)
    return {found.name for family in families for found in family.samples}

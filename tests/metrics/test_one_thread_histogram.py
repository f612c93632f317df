"""metrics.OneThreadHistogram answers a scrape exactly as prometheus_client's
Histogram would for the same observations (what the SQLite writer and its
syncer observe, without a lock per observation)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from simgate.metrics import OneThreadHistogram

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)


def scraped(registry: CollectorRegistry) -> list[tuple[str, dict[str, str], float]]:
    text = generate_latest(registry).decode()
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


@given(st.lists(st.floats(min_value=0, max_value=5, allow_nan=False) | st.sampled_from(BUCKETS)))
def test_it_exposes_what_a_prometheus_histogram_does(values: list[float]) -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    fast = OneThreadHistogram("simgate_x_seconds", "Something.", BUCKETS, ours)
    reference = Histogram("simgate_x_seconds", "Something.", buckets=BUCKETS, registry=theirs)
    for value in values:
        fast.observe(value)
        reference.observe(value)
    mine = scraped(ours)
    expected = [s for s in scraped(theirs) if not s[0].endswith("_created")]
    assert [(name, labels) for name, labels, _ in mine] == [(n, la) for n, la, _ in expected]
    for (_, _, got), (_, _, want) in zip(mine, expected, strict=True):
        assert abs(got - want) <= 1e-9 * max(1.0, abs(want))

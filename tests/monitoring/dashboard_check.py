"""Runs a dashboard's PromQL against a real Prometheus the way Grafana would: template variables
resolved from their own label_values() queries first, then every panel query."""
import math

from promql import parse_label_values, prometheus_queries, substitute, variables

RANGE_VARIABLES = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h"}


def resolve_variables(prometheus, dashboard):
    """{name: value}: each query variable set to the first value its label_values() query finds
    (a real value, not the All regex, so the filter itself is exercised)."""
    values = dict(RANGE_VARIABLES)
    for name, var in variables(dashboard).items():
        if var["type"] != "query":
            continue
        selector, label = parse_label_values(var["definition"])
        series = prometheus.series(substitute(selector, values))
        found = sorted({s[label] for s in series if label in s})
        assert found, f"{dashboard['title']}: variable ${name} ({var['definition']}) finds no values"
        values[name] = found[0]
    return values


def empty_panel_queries(prometheus, dashboard):
    """[(panel, refId, expr, why)] of every Prometheus query that returns no finite value."""
    values = resolve_variables(prometheus, dashboard)
    failures = []
    queries = list(prometheus_queries(dashboard))
    assert queries, f"{dashboard['title']} has no Prometheus queries"
    for title, ref, expr in queries:
        concrete = substitute(expr, values)
        result = prometheus.query(concrete)
        finite = [r for r in result if math.isfinite(float(r["value"][1]))]
        if not finite:
            failures.append((title, ref, concrete, "no data" if not result else f"only {result}"))
    return failures

"""Pure helpers over PromQL text and Grafana dashboards: no network, no processes."""
import re

KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "inf", "nan",
}

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def metric_names(expr):
    """Metric names a PromQL expression selects (function names and keywords excluded)."""
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    names = set()
    for m in _IDENT.finditer(text):
        word = m.group(0)
        following = text[m.end():].lstrip()
        if following.startswith("("):  # a function call
            continue
        if word.lower() in KEYWORDS or (m.start() > 0 and text[m.start() - 1].isdigit()):
            continue
        names.add(word)
    return names


def panels(dashboard):
    """Every panel, including panels nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def prometheus_queries(dashboard):
    """(panel title, refId, expr) of every Prometheus target of a dashboard."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            if "expr" in target:
                yield panel["title"], target["refId"], target["expr"]


def variables(dashboard):
    return {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}


def used_variables(text):
    return set(re.findall(r"\$\{?(\w+)", text))


def substitute(expr, values):
    """Replace Grafana variables ($name, ${name}) with concrete values."""
    def repl(m):
        name = m.group(1) or m.group(2)
        if name not in values:
            raise KeyError(f"no value for ${name} in {expr!r}")
        return values[name]
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", repl, expr)


_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(.*?)\s*,\s*(\w+)\s*\)\s*$")


def parse_label_values(query):
    """`label_values(selector, label)` -> (selector, label); `label_values(label)` is not used here."""
    m = _LABEL_VALUES.match(query)
    if not m:
        raise ValueError(f"not a label_values(selector, label) query: {query!r}")
    return m.group(1), m.group(2)

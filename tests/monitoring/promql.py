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


def _blank(m):
    """A match replaced by spaces inside its delimiters, so positions stay where they were."""
    text = m.group(0)
    return text[0] + " " * (len(text) - 2) + text[-1]


def selectors(expr):
    """[(metric, matchers, brace)] of every series selector in `expr`, in order: `matchers` is
    the text between its braces ("" without any) and `brace` the index of its `{` (None when it
    has none, then the selector ends where the name does: at `end`). Each is a dict with keys
    name, start, end, matchers, brace."""
    text = _STRING.sub(lambda m: '"' + "x" * (len(m.group(0)) - 2) + '"', expr)
    blank = _MATCHERS.sub(_blank, text)
    blank = _RANGE.sub(_blank, blank)
    blank = _GROUPING.sub(lambda m: " " * len(m.group(0)), blank)
    found = []
    for m in _IDENT.finditer(blank):
        word, following = m.group(0), blank[m.end():]
        if following.lstrip().startswith("(") or word.lower() in KEYWORDS:
            continue
        if m.start() > 0 and (blank[m.start() - 1].isdigit() or blank[m.start() - 1] == "."):
            continue
        brace = m.end() if following.startswith("{") else None
        end = m.end() if brace is None else expr.index("}", brace) + 1
        matchers = "" if brace is None else expr[brace + 1:end - 1]
        found.append({"name": word, "start": m.start(), "end": end, "matchers": matchers, "brace": brace})
    return found


def with_matcher(expr, matcher):
    """`expr` with `matcher` (such as `cluster=~"$cluster"`) added to every series selector that
    does not have it yet."""
    out = expr
    for sel in reversed(selectors(expr)):
        if matcher in sel["matchers"]:
            continue
        if sel["brace"] is None:
            out = out[:sel["end"]] + "{" + matcher + "}" + out[sel["end"]:]
        else:
            gap = ", " if sel["matchers"].strip() else ""
            out = out[:sel["brace"] + 1] + matcher + gap + out[sel["brace"] + 1:]
    return out


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

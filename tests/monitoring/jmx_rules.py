"""How jmx_prometheus_javaagent (0.20) turns an MBean attribute into a metric, reimplemented from
its documented behaviour so rule files can be checked without a JVM:
- the bean is kept if it matches one of `includeObjectNames` (JMX ObjectName patterns);
- each attribute is rendered `domain<key1=value1, key2=value2><>attribute: value`;
- the first rule whose `pattern` matches anywhere in it wins; `$N` in name and labels are its groups;
- `lowercaseOutputName` / `lowercaseOutputLabelNames` lowercase the results;
- characters not allowed in Prometheus names become `_`, and runs of `_` collapse to one.
"""
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Bean:
    object_name: str  # e.g. "kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions"
    attribute: str
    value: float = 1.0

    @property
    def domain(self):
        return self.object_name.split(":", 1)[0]

    @property
    def properties(self):
        return [tuple(p.split("=", 1)) for p in self.object_name.split(":", 1)[1].split(",")]

    def match_text(self):
        props = ", ".join(f"{k}={v}" for k, v in self.properties)
        return f"{self.domain}<{props}><>{self.attribute}: {self.value}"


def _included(bean, patterns):
    if not patterns:
        return True
    for pattern in patterns:
        domain, _, props = pattern.partition(":")
        if domain != bean.domain:
            continue
        wanted = [p.split("=", 1) for p in props.split(",") if p and p != "*"]
        have = dict(bean.properties)
        exact = not props.endswith("*")
        if all(have.get(k) == v for k, v in wanted) and (not exact or len(wanted) == len(have)):
            return True
    return False


def _expand(template, match):
    return re.sub(r"\$(\d+)", lambda m: match.group(int(m.group(1))) or "", template)


def _safe(name):
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9:_]", "_", name))


def to_metric(config, bean):
    """(name, labels) the agent exports for `bean`, or None when no rule keeps it."""
    if not _included(bean, config.get("includeObjectNames", [])):
        return None
    text = bean.match_text()
    for rule in config.get("rules", []):
        m = re.match(r"^.*(?:" + rule["pattern"] + r").*$", text)
        if not m:
            continue
        name = _safe(_expand(rule["name"], m))
        labels = {_safe(_expand(k, m)): _expand(str(v), m) for k, v in rule.get("labels", {}).items()}
        if config.get("lowercaseOutputName"):
            name = name.lower()
        if config.get("lowercaseOutputLabelNames"):
            labels = {k.lower(): v for k, v in labels.items()}
        return name, labels
    return None

"""The Prometheus config for the bed: the provisioned one with only the target addresses (and
Alertmanager's) mapped to the bed, intervals shortened to SCRAPE and every alert `for:` to FOR_IN_TEST, and the scrape
jobs and agent rule files the repo provisions."""
import copy
import re

import yaml

from bed import UNAVAILABLE_JOBS
from stack import ALERTS_YML, PROVISIONING, load_yaml

SCRAPE = "5s"
FOR_IN_TEST = "15s"


# --- Prometheus config for the bed ---------------------------------------------------------------
def bed_config(provisioned, addresses, rules_path, interval=SCRAPE):
    """(config, dropped): the provisioned config with each target address replaced by where it
    lives on the bed; a job none of whose targets exist here is dropped (it must be one
    UNAVAILABLE_JOBS explains)."""
    config = copy.deepcopy(provisioned)
    config["global"].update(scrape_interval=interval, scrape_timeout=interval, evaluation_interval=interval)
    config["rule_files"] = [str(rules_path)]
    kept, dropped = [], {}
    for job in config["scrape_configs"]:
        for key in ("scrape_interval", "scrape_timeout"):
            if key in job:
                job[key] = interval
        targets = [t for sc in job.get("static_configs", []) for t in sc["targets"]]
        unknown = [t for t in targets if t not in addresses]
        if unknown and len(unknown) < len(targets):
            raise AssertionError(f"job {job['job_name']}: targets {unknown} have no place on the bed")
        if unknown:
            assert job["job_name"] in UNAVAILABLE_JOBS, \
                f"job {job['job_name']} ({targets}) is not on the bed and no reason is known"
            dropped[job["job_name"]] = UNAVAILABLE_JOBS[job["job_name"]]
            continue
        for sc in job["static_configs"]:
            sc["targets"] = [a for t in sc["targets"] for a in addresses[t]]
        kept.append(job)
    config["scrape_configs"] = kept
    for am in config.get("alerting", {}).get("alertmanagers", []):
        for sc in am.get("static_configs", []):
            sc["targets"] = [a for t in sc["targets"] for a in addresses[t]]
    return config, dropped


def alerts_for_test(path):
    """alerts.yml with every `for:` set to FOR_IN_TEST, nothing else changed."""
    doc = load_yaml(ALERTS_YML)
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = FOR_IN_TEST
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def provisioned_jobs():
    return load_yaml(PROVISIONING / "prometheus" / "prometheus.yml")["scrape_configs"]


def agent_rule_files(compose):
    """{"service:port": rule file name} from the compose file's -javaagent arguments."""
    out = {}
    for name, service in compose["services"].items():
        text = yaml.safe_dump(service)
        for port, rules in re.findall(r"jmx_prometheus_javaagent\.jar=(\d+):/etc/jmx-exporter/([\w.-]+\.yml)", text):
            out[f"{name}:{port}"] = rules
    return out

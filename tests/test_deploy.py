"""deploy/: the Prometheus scrape config names the four services, and every metric the Grafana dashboard asks
for is one the parts export (so a renamed metric cannot leave an empty panel behind)."""
from __future__ import annotations

import json
import re

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.servers import ROOT

DEPLOY = ROOT / "deploy"


def test_the_scrape_config_covers_the_four_services():
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics" and job["authorization"]["type"] == "Bearer"
    parts = {target["labels"]["part"]: target["targets"][0] for target in job["static_configs"]}
    assert parts == {"gateway": "127.0.0.1:8000", "flights": "127.0.0.1:8001", "payments": "127.0.0.1:8002",
                     "loyalty": "127.0.0.1:8003"}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_dashboard_metric_is_exported(api):
    exported = {family.name for family in text_string_to_metric_families(api.get("/metrics").text)}
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    asked = set()
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            asked |= set(re.findall(r"flightbook_[a-z_]+", target["expr"]))
    names = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in asked}
    assert names and names <= exported, names - exported
    listed = (DEPLOY / "README.md").read_text()
    assert all(panel["title"] in listed for panel in dashboard["panels"])

"""The results and month pages as the gateway renders them in process (no browser), on both backends:
journeys with their stops and layovers, the stops filter, the date strip, the month view, and a search that
finds nothing with one stop offered two."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.flights.builders import add_airports, add_leg, local

DAY = dt.date.today() + dt.timedelta(days=12)


@pytest.fixture
def network(system):
    """JFK-ORD-LAX each day from DAY - 1 to DAY + 1; BOS-JFK-ORD-SEA (two stops) on DAY only."""
    add_airports("JFK", "ORD", "LAX", "BOS", "SEA")
    for n in (-1, 0, 1):
        day = DAY + dt.timedelta(days=n)
        add_leg("JFK", "ORD", local("JFK", day, "08:00"), 165, fare=15000 + 1000 * n)
        add_leg("ORD", "LAX", local("ORD", day, "11:00"), 255, fare=21000)
    add_leg("BOS", "JFK", local("BOS", DAY, "06:00"), 75)
    add_leg("ORD", "SEA", local("ORD", DAY, "11:00"), 270)


def page(client, path, **params):
    resp = client.simulate_get(path, params=params)
    return resp.status_code, resp.text


def test_results_show_the_connection_its_layover_and_prices_on_nearby_days(client, network):
    status, html = page(client, "/flights", origin="JFK", destination="LAX", date=DAY.isoformat())
    assert status == 200, html
    assert 'name="outbound_id"' in html and "data-stops=\"1\"" in html
    assert "1 stop · 1h 15m in Chicago (ORD)" in html
    assert re.search(r'data-layover="ORD">\s*1h 15m layover in Chicago \(ORD\)', html)
    strip = dict(re.findall(r'data-date="([0-9-]+)">\s*<span class="date-day">[^<]*</span>\s*'
                            r'<span class="date-price">([^<]*)</span>', html))
    assert strip[(DAY - dt.timedelta(days=1)).isoformat()] == "$350.00"
    assert strip[DAY.isoformat()] == "$360.00" and strip[(DAY + dt.timedelta(days=1)).isoformat()] == "$370.00"
    assert strip[(DAY + dt.timedelta(days=2)).isoformat()] == "—"
    assert 'aria-current="date"' in html and "/flights/month?" in html
    status, html = page(client, "/flights", origin="JFK", destination="LAX", date=DAY.isoformat(), stops="0")
    assert status == 200 and "No direct flights" in html and 'name="outbound_id"' not in html


def test_a_search_with_nothing_one_stop_away_offers_two_stops_and_says_so(client, network):
    status, html = page(client, "/flights", origin="BOS", destination="SEA", date=DAY.isoformat())
    assert status == 200 and "these journeys may have two" in html
    assert "2 stops · JFK, ORD" in html and "stops=2" in html
    status, html = page(client, "/flights", origin="BOS", destination="SEA", date=DAY.isoformat(), stops="1")
    assert "these journeys may have two" not in html and 'name="outbound_id"' not in html  # asked for: kept


def test_the_month_view_prices_each_day_and_links_to_it(client, network):
    month = DAY.replace(day=1)
    status, html = page(client, "/flights/month", origin="JFK", destination="LAX", date=DAY.isoformat(),
                        month=f"{month:%Y-%m}")
    assert status == 200, html
    cells = re.findall(r'data-date="([0-9-]+)">\s*<a class="month-cell" href="([^"]+)"', html)
    flown = {(DAY + dt.timedelta(days=n)) for n in (-1, 0, 1)}
    assert {day for day, _ in cells} == {day.isoformat() for day in flown if day.month == DAY.month}
    assert all(f"date={day}" in link.replace("&amp;", "&") for day, link in cells)
    for bad in ("2020-01", "soon", f"{dt.date.today().year + 3}-01"):
        status, html = page(client, "/flights/month", origin="JFK", destination="LAX", date=DAY.isoformat(),
                            month=bad)
        assert status == 400 and "choose a month" in html

"""Home (the search form), the results page and the airport autocomplete endpoint."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re

import falcon

from flightbook.contracts.flights import CABINS, MAX_PASSENGERS, FlightQuery
from flightbook.gateway import calendar_pages
from flightbook.gateway.urls import QUERY_FIELDS, results_url
from flightbook.gateway.web import Web, page
from flightbook.kernel import validate
from flightbook.kernel.errors import ValidationError

SORTS = {"best": "Best", "price": "Lowest price", "departure": "Earliest departure", "duration": "Shortest"}
STOPS = {"0": "Nonstop", "1": "Up to 1 stop", "2": "Up to 2 stops"}
DEFAULT_STOPS, MORE_STOPS = "1", "2"
_CODE_IN_LABEL = re.compile(r"\(([A-Za-z]{3})\)\s*$")



class SearchForm:
    """The search as the traveller typed it, read into a FlightQuery or a list of readable problems."""

    def __init__(self, web: Web, data: dict):
        self.web = web
        self.data = {k: (data.get(k) or "").strip() for k in QUERY_FIELDS}
        self.data["trip"] = self.data["trip"] or ("return" if self.data["return_date"] else "oneway")
        self.errors: dict[str, str] = {}

    def to_query(self) -> FlightQuery | None:
        origin = self._airport("origin", "Where from")
        destination = self._airport("destination", "Where to")
        date = self._date("date", "Departure date")
        is_return = self.data["trip"] == "return"
        return_date = self._date("return_date", "Return date") if is_return else None
        if origin and origin == destination:
            self.errors["destination"] = "Choose a destination different from where you fly from."
        if date and date < dt.date.today() - dt.timedelta(days=1):
            self.errors["date"] = "The departure date is in the past."
        if date and return_date and return_date < date:
            self.errors["return_date"] = "The return date must be on or after the departure date."
        cabin = self.data["cabin"] or "economy"
        if cabin not in CABINS:
            self.errors["cabin"] = "Choose economy, business or first."
        passengers = self._passengers()
        children, infants = self._count("children", "Children"), self._count("infants", "Infants")
        if children + passengers > MAX_PASSENGERS:
            self.errors["children"] = f"Adults and children take at most {MAX_PASSENGERS} seats together."
        if infants > passengers:
            self.errors["infants"] = "One infant per adult: an infant travels on an adult's lap."
        if self.errors or origin is None or destination is None or date is None:
            return None
        self.data.update(origin=origin, destination=destination)
        return FlightQuery(origin=origin, destination=destination, date=date, return_date=return_date,
                           cabin=cabin, passengers=passengers, children=children, infants=infants,
                           sort=self.data["sort"] if self.data["sort"] in SORTS else "best",
                           max_stops=int(self.data["stops"] if self.data["stops"] in STOPS else DEFAULT_STOPS))

    def _airport(self, field: str, label: str) -> str | None:
        text = self.data[field]
        if not text:
            self.errors[field] = f"{label}? Type a city, airport or code."
            return None
        match = _CODE_IN_LABEL.search(text)
        if match:
            return match.group(1).upper()
        if len(text) == 3 and text.isalpha():
            return text.upper()
        found = self.web.contracts.flights.search_places(text, 1)
        if not found:
            self.errors[field] = f"We could not find an airport matching “{text}”."
            return None
        return found[0].iata

    def _date(self, field: str, label: str) -> dt.date | None:
        try:
            value = validate.date(self.data, field)
        except ValidationError:
            self.errors[field] = f"{label}: choose a date." if not self.data[field] else f"{label} is not a date."
            return None
        return value

    def _passengers(self) -> int:
        try:
            return validate.integer(self.data, "passengers", minimum=1, maximum=MAX_PASSENGERS,
                                    required=False, default=1)
        except ValidationError:
            self.errors["passengers"] = f"Adults: choose 1 to {MAX_PASSENGERS}."
            return 1

    def _count(self, field: str, label: str) -> int:
        try:
            return validate.integer(self.data, field, minimum=0, maximum=MAX_PASSENGERS, required=False, default=0)
        except ValidationError:
            self.errors[field] = f"{label}: choose 0 to {MAX_PASSENGERS}."
            return 0


def party_label(query) -> str:
    """'2 adults, 1 child, 1 infant'."""
    parts = [(query.passengers, "adult", "adults"), (query.children, "child", "children"),
             (query.infants, "infant", "infants")]
    return ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in parts if n)


class Home:
    def __init__(self, web: Web):
        self.web = web

    @page
    def on_get(self, req, resp):
        form = SearchForm(self.web, validate.query(req))
        self.web.render(req, resp, "home.html", form=form.data, errors={}, cabins=CABINS,
                        max_passengers=MAX_PASSENGERS, today=dt.date.today().isoformat())


class Results:
    def __init__(self, web: Web):
        self.web = web

    @page
    def on_get(self, req, resp):
        form = SearchForm(self.web, validate.query(req))
        query = form.to_query()
        if query is None:
            self.web.render(req, resp, "home.html", status=falcon.HTTP_400, form=form.data, errors=form.errors,
                            cabins=CABINS, max_passengers=MAX_PASSENGERS, today=dt.date.today().isoformat())
            return
        found = self.web.contracts.flights.search_flights(query)
        note = None
        if not form.data["stops"] and (not found.outbound or (query.return_date and not found.inbound)):
            # nothing with one stop: offer two rather than an empty page, saying so
            query = dataclasses.replace(query, max_stops=int(MORE_STOPS))
            found = self.web.contracts.flights.search_flights(query)
            form.data["stops"] = MORE_STOPS
            note = "Nothing that day with one stop at most, so these journeys may have two."
        places = self.web.places_for({query.origin, query.destination}
                                     | {lay.airport for o in found.outbound + found.inbound for lay in o.layovers})
        self.web.render(req, resp, "results.html", query=query, form=form.data, places=places, note=note,
                        party=party_label(query),
                        outbound=[option_view(self.web, o, places) for o in found.outbound],
                        inbound=[option_view(self.web, o, places) for o in found.inbound],
                        sorts=SORTS, sort_url=lambda s: results_url(form.data, sort=s),
                        stops=STOPS, stops_url=lambda s: results_url(form.data, stops=s),
                        strip=calendar_pages.date_strip(self.web, query, form.data),
                        month_url=calendar_pages.month_url(form.data, query.date))


def option_view(web: Web, option, places: dict) -> dict:
    return web.journey_view(option.legs, option.layovers, places, whole=option)


class MonthView:
    """``/flights/month?<the search>&month=YYYY-MM``: a month of cheapest journeys, one click from the results."""

    def __init__(self, web: Web):
        self.web = web

    @page
    def on_get(self, req, resp):
        params = validate.query(req)
        form = SearchForm(self.web, params)
        query = form.to_query()
        if query is None:
            raise ValidationError("search", "the search is incomplete: " + "; ".join(form.errors.values()))
        self.web.render(req, resp, "month.html", query=query, form=form.data, back_url=results_url(form.data),
                        places=self.web.places_for([query.origin, query.destination]),
                        **calendar_pages.month_view(self.web, query, form.data, params.get("month")))


class PlaceSuggestions:
    """``GET /ui/places?q=lon`` -> ``[{"iata", "label", "city", "name", "country"}]`` for the autocomplete."""

    def __init__(self, web: Web):
        self.web = web

    def on_get(self, req, resp):
        q = (req.get_param("q") or "").strip()
        if len(q) > 100:
            raise ValidationError("q", "must be at most 100 characters")
        found = self.web.contracts.flights.search_places(q, 8) if len(q) >= 2 else []
        resp.media = [{"iata": p.iata, "city": p.city, "name": p.name, "country": p.country,
                       "label": f"{p.city or p.name} – {p.name} ({p.iata})"} for p in found]
        resp.set_header("Cache-Control", "max-age=300")


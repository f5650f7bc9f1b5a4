"""Home (the search form), the results page and the airport autocomplete endpoint."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata

import falcon

from flightbook.contracts.flights import CABINS, MAX_PASSENGERS, FlightQuery, SearchResult
from flightbook.gateway import calendar_pages
from flightbook.gateway.urls import QUERY_FIELDS, results_url
from flightbook.gateway.web import Page, Web, page
from flightbook.kernel import validate
from flightbook.kernel.errors import Conflict, NotFound, ValidationError

SORTS = {"best": "Best", "price": "Lowest price", "departure": "Earliest departure", "duration": "Shortest"}
STOPS = {"0": "Nonstop", "1": "Up to 1 stop", "2": "Up to 2 stops"}
DEFAULT_STOPS, MORE_STOPS = "1", "2"
_CODE_IN_LABEL = re.compile(r"\(([A-Za-z]{3})\)\s*$")
#: how a field is named when flights' own check of a search fails ("date: 2026-01-02 is in the past at JFK")
FIELD_LABELS = {"origin": "From", "destination": "To", "date": "Departure date", "return_date": "Return date",
                "cabin": "Cabin", "passengers": "Passengers"}


def place_label(place) -> str:
    """How a place reads in the form and the suggestions: 'London – All airports (LON)'."""
    return f"{place.city or place.name} – {place.name} ({place.iata})"


def _plain(text: str) -> str:
    bare = "".join(ch for ch in unicodedata.normalize("NFKD", text or "") if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


class SearchForm:
    """The search as the traveller typed it, read into a FlightQuery or a list of readable problems."""

    def __init__(self, web: Web, data: dict):
        self.web = web
        self.data = {k: (data.get(k) or "").strip() for k in QUERY_FIELDS}
        self.data["trip"] = self.data["trip"] or ("return" if self.data["return_date"] else "oneway")
        self.errors: dict[str, str] = {}
        self.choices: dict[str, list[dict]] = {}  # "did you mean": field -> [{"code", "label", "url"}]

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
        found = self.web.contracts.flights.search_places(text, 5)
        # the text names a place outright (a city first: 'london' is London's airports, not one of them);
        # anything else is not guessed at: the traveller chooses
        named = [p for p in found if _plain(text) in (_plain(p.city), _plain(p.name), p.iata.casefold())]
        if named and (named[0].kind == "city" or len(named) == 1):
            return named[0].iata
        if not found:
            self.errors[field] = f"We could not find an airport or city matching “{text}”."
        else:
            self.errors[field] = f"“{text}” could be more than one place. Did you mean one of these?"
            self.choices[field] = [{"code": p.iata, "label": place_label(p)} for p in found]
        return None

    def flights_said(self, exc: ValidationError) -> None:
        """flights' own check of the search failed: shown on the field it names (or the form's first field)."""
        field = exc.field
        message = str(exc.message).split(": ", 1)[-1]
        self.errors[field] = f"{FIELD_LABELS[field]}: {message[:1].upper()}{message[1:]}."

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


class Home(Page):
    @page
    def on_get(self, req, resp):
        form = SearchForm(self.web, validate.query(req))
        self.web.render(req, resp, "home.html", form=form.data, errors={}, choices={}, cabins=CABINS,
                        max_passengers=MAX_PASSENGERS, today=dt.date.today().isoformat())


class Results(Page):
    @page
    def on_get(self, req, resp):
        form = SearchForm(self.web, validate.query(req))
        query = form.to_query()
        found: SearchResult | None = None
        if query is not None:
            try:
                found = self.web.contracts.flights.search_flights(query)
            except ValidationError as exc:
                if exc.field not in FIELD_LABELS:
                    raise
                form.flights_said(exc)
        if query is None or found is None:
            search_form_again(self.web, req, resp, form)
            return
        note = None
        if not form.data["stops"] and (not found.outbound or (query.return_date and not found.inbound)):
            # nothing with one stop: offer two rather than an empty page, saying so
            query = dataclasses.replace(query, max_stops=int(MORE_STOPS))
            found = self.web.contracts.flights.search_flights(query)
            form.data["stops"] = MORE_STOPS
            note = "Nothing that day with one stop at most, so these journeys may have two."
        # a city's search names each option's own airports (JFK, LHR), so they are looked up too
        places = self.web.places_for({query.origin, query.destination}
                                     | {code for o in found.outbound + found.inbound for leg in o.legs
                                        for code in (leg.origin, leg.destination)})
        params = validate.query(req)
        chosen = {"outbound_id": chosen_id(params.get("outbound_id"), found.outbound),
                  "return_id": chosen_id(params.get("return_id"), found.inbound)}
        self.web.render(req, resp, "results.html", query=query, form=form.data, places=places, note=note,
                        party=party_label(query),
                        outbound=[option_view(self.web, o, places) for o in found.outbound],
                        inbound=[option_view(self.web, o, places) for o in found.inbound], chosen=chosen,
                        trip=trip_quote(self.web, query, chosen["outbound_id"], chosen["return_id"]),
                        sorts=SORTS, sort_url=lambda s: results_url(form.data, sort=s),
                        stops=STOPS, stops_url=lambda s: results_url(form.data, stops=s),
                        strip=calendar_pages.date_strip(self.web, query, form.data),
                        month_url=calendar_pages.month_url(form.data, query.date))


def search_form_again(web: Web, req, resp, form: SearchForm) -> None:
    """The search form with what the traveller typed, each problem on its field and "did you mean" choices."""
    choices = {field: [{**c, "url": results_url(form.data, **{field: c["label"]})} for c in found]
               for field, found in form.choices.items()}
    web.render(req, resp, "home.html", status=falcon.HTTP_400, form=form.data, errors=form.errors, choices=choices,
               cabins=CABINS, max_passengers=MAX_PASSENGERS, today=dt.date.today().isoformat())


def chosen_id(wanted, options: list) -> str | None:
    """The option to show chosen: the one the traveller chose before (back from logging in), else the first."""
    ids = [o.id for o in options]
    return wanted if wanted in ids else (ids[0] if ids else None)


def trip_quote(web: Web, query: FlightQuery, outbound_id: str | None, return_id: str | None):
    """What the chosen return trip costs for everyone, as flights would charge it (None: nothing to quote)."""
    if outbound_id is None or query.return_date is None or return_id is None:
        return None
    try:
        return web.contracts.flights.quote_trip(query.cabin, query.passengers, outbound_id, return_id,
                                                children=query.children, infants=query.infants)
    except (ValidationError, Conflict, NotFound):
        return None


def option_view(web: Web, option, places: dict) -> dict:
    return web.journey_view(option.legs, option.layovers, places, whole=option)


class MonthView(Page):
    """``/flights/month?<the search>&month=YYYY-MM``: a month of cheapest journeys, one click from the results."""

    @page
    def on_get(self, req, resp):
        params = validate.query(req)
        form = SearchForm(self.web, params)
        query = form.to_query()
        month = None
        if query is not None:
            try:
                month = calendar_pages.month_view(self.web, query, form.data, params.get("month"))
            except ValidationError as exc:
                if exc.field not in FIELD_LABELS:
                    raise
                form.flights_said(exc)
        if query is None or month is None:
            search_form_again(self.web, req, resp, form)
            return
        self.web.render(req, resp, "month.html", query=query, form=form.data, back_url=results_url(form.data),
                        places=self.web.places_for([query.origin, query.destination]), **month)


class PlaceSuggestions(Page):
    """``GET /ui/places?q=lon`` -> ``[{"iata", "label", "city", "name", "country", "kind", "airports"}]`` for the
    autocomplete (a city first, naming its airports)."""

    def on_get(self, req, resp):
        q = (req.get_param("q") or "").strip()
        if len(q) > 100:
            raise ValidationError("q", "must be at most 100 characters")
        found = self.web.contracts.flights.search_places(q, 8) if len(q) >= 2 else []
        resp.media = [{"iata": p.iata, "city": p.city, "name": p.name, "country": p.country, "kind": p.kind,
                       "airports": p.airports, "label": place_label(p)} for p in found]
        resp.set_header("Cache-Control", "max-age=300")


"""From chosen flights to a held booking: the passenger details page and the booking it makes."""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlencode

import falcon

from flightbook.contracts.flights import BookingRequest, FlightQuery, PassengerInput, PassengerType
from flightbook.gateway.search_pages import SearchForm, party_label
from flightbook.gateway.urls import results_url
from flightbook.gateway.web import LoginRequired, Page, Web, page
from flightbook.kernel.errors import Conflict, NotFound, ValidationError

GENDERS = {"": "Prefer not to say", "female": "Female", "male": "Male", "other": "Other"}
PASSENGER_FIELDS = ("first_name", "last_name", "date_of_birth", "gender")
TYPE_LABELS = {PassengerType.ADULT: "Adult (12+)", PassengerType.CHILD: "Child (2–11)",
               PassengerType.INFANT: "Infant (under 2, on an adult's lap)"}


def party_types(query: FlightQuery) -> list[PassengerType]:
    """One passenger block per traveller the search counted: adults, then children, then infants."""
    return ([PassengerType.ADULT] * query.passengers + [PassengerType.CHILD] * query.children
            + [PassengerType.INFANT] * query.infants)


def _option_id(form: dict, field: str, required: bool) -> str | None:
    raw = (form.get(field) or "").strip()
    if not raw and not required:
        return None
    if not raw or len(raw) > 80:
        raise ValidationError(field, "choose a flight")
    return raw


class Selection:
    """The search and the journeys picked on the results page, carried through the forms as hidden fields."""

    def __init__(self, web: Web, form: dict):
        self.search = SearchForm(web, form)
        query = self.search.to_query()
        if query is None:
            raise ValidationError("search", "the search is incomplete: " + "; ".join(self.search.errors.values()))
        self.query: FlightQuery = query
        is_return = self.query.return_date is not None
        if is_return and not (form.get("return_id") or "").strip():
            raise ValidationError("return_id", "choose a return flight as well")
        self.outbound_id: str = _option_id(form, "outbound_id", True) or ""
        self.return_id = _option_id(form, "return_id", is_return)
        found = web.contracts.flights.search_flights(self.query)
        self.outbound = next((o for o in found.outbound if o.id == self.outbound_id), None)
        self.inbound = next((o for o in found.inbound if o.id == self.return_id), None) if is_return else None
        if self.outbound is None or (is_return and self.inbound is None):
            raise Conflict("Sorry, a flight you picked is no longer available with enough seats. "
                           "Please search again.", code="seats_unavailable")
        chosen = [o for o in (self.outbound, self.inbound) if o is not None]
        self.places = web.places_for({self.query.origin, self.query.destination}
                                     | {code for o in chosen for leg in o.legs for code in (leg.origin, leg.destination)})
        self.journeys = [{"label": label, **web.journey_view(o.legs, o.layovers, self.places, whole=o)}
                         for label, o in zip(("Outbound", "Return"), chosen)]
        # what booking them would charge this party, as flights says (never added up here); sent back as the
        # booking's expected_total, so a fare that rose meanwhile is a 409 fare_changed, not a surprise
        self.quote = web.contracts.flights.quote_trip(self.query.cabin, self.query.passengers, self.outbound_id,
                                                      self.return_id, children=self.query.children,
                                                      infants=self.query.infants)
        self.total = self.quote.total
        self.types = party_types(self.query)
        self.party = party_label(self.query)
        self.hidden = {**{k: v for k, v in self.search.data.items() if v}, "outbound_id": self.outbound_id,
                       "return_id": self.return_id or ""}


class Passengers(Page):
    """POST from the results page: the chosen flights -> a form with one block per passenger."""

    @page
    def on_post(self, req, resp):
        form = self.web.form(req)
        principal = self.web.principal(req)
        if principal is None:
            # back from logging in, the results show these very flights chosen
            raise LoginRequired("Log in or create an account to book these flights.",
                                next_path=results_url(form) + "&" + urlencode(
                                    {k: form[k] for k in ("outbound_id", "return_id") if form.get(k)}))
        selection = Selection(self.web, form)
        user = self.web.contracts.flights.get_user(principal, self.web.user_id(principal))
        people = [{f: "" for f in PASSENGER_FIELDS} for _ in selection.types]
        people[0].update(first_name=user.first_name, last_name=user.last_name)
        render_passengers(self.web, req, resp, selection, people, user.email, {})


def render_passengers(web, req, resp, selection, people, contact_email, errors, error=None,
                      status=falcon.HTTP_200):
    web.render(req, resp, "passengers.html", status=status, selection=selection, people=people,
               contact_email=contact_email, errors=errors, error=error, genders=GENDERS, type_labels=TYPE_LABELS,
               back_url=results_url(selection.search.data), today=dt.date.today().isoformat())


class Book(Page):
    """POST the passengers: hold the seats (a HELD booking) and go on to pay."""

    @page
    def on_post(self, req, resp):
        form = self.web.form(req)
        principal = self.web.traveller(req)
        selection = Selection(self.web, form)
        people = [{f: (form.get(f"p{i}_{f}") or "").strip() for f in PASSENGER_FIELDS}
                  for i in range(len(selection.types))]
        contact_email = (form.get("contact_email") or "").strip()
        errors = passenger_errors(people)
        if not contact_email:
            errors["contact_email"] = "Enter an email address for your e-ticket."
        if errors:
            return render_passengers(self.web, req, resp, selection, people, contact_email, errors,
                                     "Please check the highlighted fields.", status=falcon.HTTP_400)
        request = BookingRequest(
            outbound_id=selection.outbound_id, return_id=selection.return_id,
            cabin=selection.query.cabin, contact_email=contact_email, expected_total=selection.total,
            passengers=[PassengerInput(first_name=p["first_name"], last_name=p["last_name"],
                                       date_of_birth=dt.date.fromisoformat(p["date_of_birth"]),
                                       gender=p["gender"] or None, type=kind)
                        for p, kind in zip(people, selection.types)])
        try:
            booking = self.web.contracts.flights.book(principal, request)
        except (ValidationError, Conflict, NotFound) as exc:
            return render_passengers(self.web, req, resp, selection, people, contact_email, _field_error(exc),
                                     exc.message, status=exc.status)
        self.web.redirect(req, resp, f"/bookings/{booking.ref}/pay",
                          f"Seats held: booking {booking.ref}. Complete payment to confirm it.")


def _field_error(exc) -> dict:
    """A refusal about one passenger's field (``passengers[1].date_of_birth``) marks that field of the form."""
    match = re.fullmatch(r"passengers\[(\d+)\]\.(\w+)", str(exc.details.get("field") or ""))
    if match is None or match.group(2) not in PASSENGER_FIELDS:
        return {}
    return {f"p{match.group(1)}_{match.group(2)}": exc.message.split(": ", 1)[-1]}


def passenger_errors(people: list[dict]) -> dict:
    errors = {}
    for i, person in enumerate(people):
        if not person["first_name"]:
            errors[f"p{i}_first_name"] = "Enter the first name as on the passport."
        if not person["last_name"]:
            errors[f"p{i}_last_name"] = "Enter the last name as on the passport."
        if person["gender"] not in GENDERS:
            errors[f"p{i}_gender"] = "Choose one of the options."
        try:
            born = dt.date.fromisoformat(person["date_of_birth"])
            if born > dt.date.today():
                errors[f"p{i}_date_of_birth"] = "The date of birth is in the future."
        except ValueError:
            errors[f"p{i}_date_of_birth"] = "Enter the date of birth (YYYY-MM-DD)."
    return errors

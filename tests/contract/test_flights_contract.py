"""The flights contract behaves the same in process and over HTTP."""
import uuid

import pytest

from flightbook.contracts.flights import Registration
from flightbook.kernel.errors import Conflict, Unauthorized, ValidationError


def _registration(**overrides):
    name = overrides.pop("username", f"u{uuid.uuid4().hex[:10]}")
    data = dict(username=name, email=f"{name}@example.com", password="a-long-password",
                first_name="Ada", last_name="Lovelace")
    data.update(overrides)
    return Registration(**data)


def test_register_login_and_read_self(contract_for, local_system):
    flights = contract_for("flights")
    user = flights.register(_registration())
    login = flights.login(user.username, "a-long-password")
    assert login.user == user
    caller = local_system.tokens.verify(login.token)
    assert flights.get_user(caller, user.id) == user


def test_errors_are_the_same_domain_errors(contract_for):
    flights = contract_for("flights")
    reg = _registration()
    flights.register(reg)
    with pytest.raises(Conflict) as taken:
        flights.register(reg)
    assert taken.value.code == "username_taken"
    with pytest.raises(ValidationError) as short:
        flights.register(_registration(password="short"))
    assert short.value.field == "password"
    with pytest.raises(Unauthorized) as wrong:
        flights.login(reg.username, "not-the-password")
    assert wrong.value.code == "invalid_credentials"

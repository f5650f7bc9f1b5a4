from tests.conftest import register_and_login


def test_register_login_and_me(api):
    resp = api.post("/api/users/register", json={"username": "Grace", "email": "grace@example.com",
                                                "password": "hopper1906!", "first_name": "Grace",
                                                "last_name": "Hopper"})
    assert resp.status_code == 201
    assert resp.json["username"] == "grace" and "password" not in resp.text
    login = api.post("/api/users/login", json={"username": "grace", "password": "hopper1906!"})
    assert login.status_code == 200
    assert login.json["token"] and login.json["expires_at"].endswith("Z")
    me = api.as_user(login.json["token"]).get("/api/users/me")
    assert me.status_code == 200
    assert me.json == {"id": resp.json["id"], "username": "grace", "email": "grace@example.com",
                       "first_name": "Grace", "last_name": "Hopper", "is_admin": False}


def test_password_is_stored_as_scrypt_hash(api, system):
    from flightbook.modules.flights.models import User
    register_and_login(api, "hashcheck", password="plain-text-secret")
    stored = User.get(User.username == "hashcheck").password_hash
    assert stored.startswith("scrypt$") and "plain-text-secret" not in stored


def test_duplicate_username_or_email_is_a_conflict(api):
    body = {"username": "dup", "email": "dup@example.com", "password": "longenough",
            "first_name": "A", "last_name": "B"}
    assert api.post("/api/users/register", json=body).status_code == 201
    again = api.post("/api/users/register", json=body)
    assert again.status_code == 409 and again.json["error"]["code"] == "username_taken"
    other = api.post("/api/users/register", json={**body, "username": "dup2", "email": "DUP@example.com"})
    assert other.status_code == 409 and other.json["error"]["code"] == "email_taken"


def test_bad_registrations_name_the_field(api):
    good = {"username": "newbie", "email": "n@example.com", "password": "longenough",
            "first_name": "A", "last_name": "B"}
    for field, value in [("password", "short"), ("email", "not-an-email"), ("username", "x"),
                         ("first_name", ""), ("last_name", None)]:
        resp = api.post("/api/users/register", json={**good, field: value})
        assert resp.status_code == 400, (field, resp.text)
        assert resp.json["error"]["field"] == field
    assert api.post("/api/users/register", json=None).status_code == 400


def test_unknown_user_and_wrong_password_look_the_same(api):
    register_and_login(api, "known", password="right-password")
    wrong = api.post("/api/users/login", json={"username": "known", "password": "wrong-password"})
    unknown = api.post("/api/users/login", json={"username": "nobody", "password": "wrong-password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json


def test_me_needs_a_valid_token(api):
    assert api.get("/api/users/me").status_code == 401
    bad = api.get("/api/users/me", headers={"Authorization": "Bearer not.a.jwt"})
    assert bad.status_code == 401 and bad.json["error"]["code"] == "invalid_token"

"""expire-points: set-based expiry, hold protection, idempotence, and racing redemptions (SQLite and PostgreSQL)."""
from __future__ import annotations

import datetime as dt
import json
import random
import threading

from typer.testing import CliRunner

from flightbook.contracts.loyalty import HoldConflict, InsufficientPoints, PointsExpired, TierChanged
from flightbook.kernel.outbox import tables
from flightbook.modules.loyalty import accounts, models, rules
from flightbook.modules.loyalty.models import LoyaltyAccount, PointsLot, PointsTransaction
from flightbook.modules.loyalty.rules import add_months
from tests.loyalty.conftest import START, assert_books_balance, lots_of, traveller_principal, usd
from tests.loyalty.oracle import protected_by_holds

TWO_YEARS_ON = add_months(START, 24)


def test_lots_past_expiry_expire_once_with_one_transaction_per_account(loyalty, clock):
    for user_id in (1, 2):
        loyalty.earn(user_id, f"OLD00{user_id}", usd(100))
        loyalty.earn(user_id, f"OLE00{user_id}", usd(50))
    clock.advance(days=100)
    loyalty.earn(1, "NEW001", usd(10))
    before = loyalty.get_account(traveller_principal(1), 1)
    assert before.expiring_soon == 0
    clock.moment = TWO_YEARS_ON - dt.timedelta(days=30)
    assert loyalty.get_account(traveller_principal(1), 1).expiring_soon == 1500

    preview = loyalty.expire_points(TWO_YEARS_ON, dry_run=True)
    assert (preview.accounts, preview.points) == (2, 3000)
    assert LoyaltyAccount.get_by_id(1).balance == 1600  # a dry run changes nothing

    report = loyalty.expire_points(TWO_YEARS_ON)
    assert (report.accounts, report.points) == (2, 3000)
    assert [a.balance for a in LoyaltyAccount.select().order_by(LoyaltyAccount.user_id)] == [100, 0]
    assert lots_of(1) == [(1000, 0), (500, 0), (100, 100)]
    expired = [(t.user_id, t.points, t.balance_after) for t in
               PointsTransaction.select().where(PointsTransaction.kind == "EXPIRE").order_by(PointsTransaction.user_id)]
    assert expired == [(1, -1500, 100), (2, -1500, 0)]
    again = loyalty.expire_points(TWO_YEARS_ON)
    assert (again.accounts, again.points) == (0, 0)
    for user_id in (1, 2):
        assert_books_balance(user_id)


def test_expiry_recomputes_the_tier(loyalty, clock):
    loyalty.earn(3, "GOLD01", usd(5000))
    assert loyalty.get_account(traveller_principal(3), 3).tier == "Gold"
    loyalty.expire_points(TWO_YEARS_ON)
    account = loyalty.get_account(traveller_principal(3), 3)
    assert (account.tier, account.balance) == ("Blue", 0)


def test_points_under_a_pending_hold_do_not_expire_until_it_is_released(loyalty, clock):
    me = traveller_principal(4)
    loyalty.earn(4, "EARN01", usd(100))
    clock.advance(days=60)
    loyalty.earn(4, "EARN02", usd(100))
    hold = loyalty.hold_points(me, 4, 1200, "TRIP01")  # all of the old lot, 200 of the new
    report = loyalty.expire_points(TWO_YEARS_ON)
    assert report.points == 0 and lots_of(4) == [(1000, 1000), (1000, 1000)]
    loyalty.release_hold(hold.hold_id)
    assert loyalty.expire_points(TWO_YEARS_ON).points == 1000
    assert loyalty.get_account(me, 4).balance == 1000
    assert_books_balance(4)


def test_accounts_with_and_without_holds_expire_by_their_own_rule_in_one_run(loyalty, clock):
    for user_id in (7, 8):
        clock.moment = START
        loyalty.earn(user_id, f"OLD00{user_id}", usd(100))
        clock.advance(days=10)
        loyalty.earn(user_id, f"MID00{user_id}", usd(50))
        clock.advance(days=100)
        loyalty.earn(user_id, f"NEW00{user_id}", usd(20))
    loyalty.hold_points(traveller_principal(8), 8, 1200, "TRIP08")  # covers the OLD lot and 200 of MID
    report = loyalty.expire_points(TWO_YEARS_ON + dt.timedelta(days=30))  # OLD and MID are due, NEW not
    assert (report.accounts, report.points) == (2, 1500 + 300)
    assert lots_of(7) == [(1000, 0), (500, 0), (200, 200)]
    assert lots_of(8) == [(1000, 1000), (500, 200), (200, 200)]
    for user_id in (7, 8):
        assert_books_balance(user_id)


def test_sql_protection_matches_the_rule_on_random_lots(loyalty, clock):
    rng = random.Random(5)
    expected = {}
    for user_id in range(10, 20):
        sizes = [rng.randint(1, 50) * 10 for _ in range(rng.randint(1, 5))]
        for n, size in enumerate(sizes):
            clock.moment = START + dt.timedelta(days=n)
            loyalty.earn(user_id, f"R{user_id}X{n}", usd(size // 10))
        held = rng.randint(0, sum(sizes))
        if held:
            loyalty.hold_points(traveller_principal(user_id), user_id, held, f"H{user_id}")
        expiring = sizes[:rng.randint(0, len(sizes))]  # the oldest few are past expiry
        expected[user_id] = sum(expiring) - sum(protected_by_holds(expiring, held))
        for lot, size in zip(PointsLot.select().where(PointsLot.account == user_id).order_by(PointsLot.id), sizes):
            past = lot.id in [l.id for l in PointsLot.select().where(PointsLot.account == user_id)
                              .order_by(PointsLot.id).limit(len(expiring))]
            lot.expires_at = (START if past else TWO_YEARS_ON).replace(tzinfo=None) + dt.timedelta(minutes=lot.id)
            lot.save()
    loyalty.expire_points(START + dt.timedelta(days=1))
    for user_id, points in expected.items():
        expired = PointsTransaction.get_or_none((PointsTransaction.user_id == user_id)
                                                & (PointsTransaction.kind == "EXPIRE"))
        assert (-expired.points if expired else 0) == points, user_id
        assert_books_balance(user_id)


def test_concurrent_redeems_never_take_more_than_the_balance(loyalty):
    loyalty.earn(5, "EARN01", usd(100))  # 1000 points
    outcomes = []

    def redeem(n):
        try:
            hold = loyalty.hold_points(traveller_principal(5), 5, 300, f"RACE{n:02d}")
            loyalty.commit_hold(hold.hold_id)
            outcomes.append("ok")
        except (InsufficientPoints, HoldConflict):
            outcomes.append("refused")

    threads = [threading.Thread(target=redeem, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 3 and outcomes.count("refused") == 9
    assert LoyaltyAccount.get_by_id(5).balance == 100
    assert_books_balance(5)


def test_expiry_racing_redemptions_loses_no_points(loyalty, clock):
    users = range(30, 40)
    for user_id in users:
        clock.moment = START
        loyalty.earn(user_id, f"OLD{user_id}", usd(100))
        clock.advance(days=30)
        loyalty.earn(user_id, f"NEW{user_id}", usd(100))
    clock.moment = TWO_YEARS_ON + dt.timedelta(days=1)  # the OLD lots are due, the NEW ones not
    redeemed, expired = [], []

    def redeem_all():
        for round_ in range(3):  # 900 of each OLD lot's 1000: some always expire
            for user_id in users:
                try:
                    hold = loyalty.hold_points(traveller_principal(user_id), user_id, 300, f"S{user_id}R{round_}")
                    redeemed.append(loyalty.commit_hold(hold.hold_id).points)
                except InsufficientPoints:
                    pass

    def expire_repeatedly():
        for _ in range(5):
            expired.append(loyalty.expire_points().points)

    threads = [threading.Thread(target=redeem_all), threading.Thread(target=expire_repeatedly)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expired.append(loyalty.expire_points().points)
    balances = sum(LoyaltyAccount.get_by_id(u).balance for u in users)
    assert balances + sum(redeemed) + sum(expired) == 2000 * len(users)
    assert sum(expired) > 0 and sum(redeemed) > 0
    for user_id in users:
        assert_books_balance(user_id)
        assert LoyaltyAccount.get_by_id(user_id).held == 0


def test_cli_expires_points_and_refuses_a_bad_date(loyalty, env, monkeypatch):
    loyalty.earn(6, "EARN01", usd(100))
    import cli
    runner = CliRunner()
    bad = runner.invoke(cli.app, ["expire-points", "--as-of", "2027-02-30"], env=env)
    assert bad.exit_code != 0 and "--as-of must be a date" in bad.output
    due = (TWO_YEARS_ON + dt.timedelta(days=1)).date().isoformat()
    dry = runner.invoke(cli.app, ["expire-points", "--as-of", due, "--dry-run"], env=env)
    assert dry.exit_code == 0 and "would expire 1000 points in 1 accounts" in dry.output
    done = runner.invoke(cli.app, ["expire-points", "--as-of", due], env=env)
    assert done.exit_code == 0 and "expired 1000 points in 1 accounts" in done.output
    again = runner.invoke(cli.app, ["expire-points", "--as-of", due], env=env)
    assert "expired 0 points in 0 accounts" in again.output


def test_expiry_publishes_points_expired_per_account_and_tier_changed_by_the_tier_rule(loyalty, clock):
    gold = loyalty.earn(7, "GOLD07", usd(5000))  # Gold on its qualifying points
    blue = loyalty.earn(8, "BLUE08", usd(10)) + loyalty.earn(8, "BLUE09", usd(20))
    outbox = tables(models.database).OutboxEvent
    before = outbox.select().count()
    loyalty.expire_points(TWO_YEARS_ON)
    published = [(e.topic, json.loads(e.payload)) for e in outbox.select().order_by(outbox.id)][before:]
    expired = sorted((p["user_id"], p["points"]) for t, p in published if t == PointsExpired.topic)
    assert expired == [(7, gold), (8, blue)]  # one event per account, all its expired points
    changed = [(p["user_id"], p["old_tier"], p["new_tier"]) for t, p in published if t == TierChanged.topic]
    expected = rules.tier_for(0, accounts.tier_rules()).name
    assert changed == [(7, "Gold", expected)] and LoyaltyAccount.get_by_id(7).tier == expected


def test_cli_expire_points_says_in_one_line_that_the_database_is_unavailable(env, monkeypatch):
    import cli
    unreachable = {**env, "FLIGHTBOOK_LOYALTY_DATABASE": "postgresql://postgres@127.0.0.1:1/nowhere"}
    result = CliRunner().invoke(cli.app, ["expire-points"], env=unreachable)
    assert result.exit_code != 0 and result.output.startswith("error: loyalty database unavailable")
    assert len(result.output.strip().splitlines()) == 1

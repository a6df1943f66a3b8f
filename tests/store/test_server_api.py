"""The reference server's side of the contract, over real HTTP on 127.0.0.1: authentication,
schema validation, idempotent handoffs, the lane's verification and payment, long polls."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
import requests

from cart_app.store.client import StoreClient
from cart_app.store.contract import (
    HandoffLine,
    HandoffRequest,
    SessionStart,
    TelemetryBatch,
    handoff_lines_hash,
)
from cart_app.store.http import StoreAuthError, StoreHTTPError
from cart_app.store.token import CartKey, TokenClaims, issue_token
from tests.store.conftest import CART_ID, Provisioned, StoreServer, demo_catalog_doc


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def make_handoff(
    signing: CartKey,
    *,
    session_id: str = "s-1",
    total: int | None = None,
    expires_in: int = 900,
    issued: int | None = None,
) -> HandoffRequest:
    lines = [
        HandoffLine(
            line_id=1, sku="MILK", name="Milk", quantity=2, unit_price_cents=1295, net_cents=2590
        ),
        HandoffLine(
            line_id=2,
            sku="BEER",
            name="Beer",
            quantity=1,
            unit_price_cents=1500,
            net_cents=1500,
            age_restricted=True,
        ),
    ]
    handoff_id = uuid.uuid4().hex
    now = issued if issued is not None else int(time.time())
    total = 4090 if total is None else total
    claims = TokenClaims(
        key_id=signing.key_id,
        handoff_id=handoff_id,
        session_id=session_id,
        cart_id=CART_ID,
        issued_at=now,
        expires_at=now + expires_in,
        total_cents=total,
        line_count=len(lines),
        lines_hash=handoff_lines_hash(lines),
    )
    return HandoffRequest(
        handoff_id=handoff_id,
        session_id=session_id,
        cart_id=CART_ID,
        token=issue_token(signing, claims),
        currency="SEK",
        total_cents=total,
        lines=lines,
        created_at=float(now),
    )


def post_handoff(server: StoreServer, key: str, body: Any, idem: str | None) -> requests.Response:
    headers = bearer(key)
    if idem is not None:
        headers["Idempotency-Key"] = idem
    data = body.model_dump_json() if isinstance(body, HandoffRequest) else body
    return requests.post(
        f"{server.url}/v1/handoffs",
        data=data,
        headers={**headers, "Content-Type": "application/json"},
        timeout=5,
    )


def lane(server: StoreServer, p: Provisioned, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(
        f"{server.url}/v1/lane/{path}", json=body, headers=bearer(p.lane_key), timeout=5
    )


# --- authentication and schema ---------------------------------------------------------------


@pytest.mark.security
def test_wrong_or_missing_api_key(server: StoreServer, provisioned: Provisioned) -> None:
    r = requests.get(f"{server.url}/v1/catalog", timeout=5)
    assert r.status_code == 401 and r.json()["type"] == "unauthenticated"
    assert r.headers["content-type"] == "application/problem+json"
    r = requests.get(f"{server.url}/v1/catalog", headers=bearer("sck_nope-nope-nope"), timeout=5)
    assert r.status_code == 401 and r.json()["type"] == "bad-api-key"
    assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.security
def test_roles_and_cart_ownership(server: StoreServer, provisioned: Provisioned) -> None:
    body = make_handoff(provisioned.signing_key)
    r = post_handoff(server, provisioned.lane_key, body, body.handoff_id)
    assert r.status_code == 403 and r.json()["type"] == "wrong-role"
    r = lane(server, provisioned, "verify", {"token": body.token, "lane_id": "l"})
    assert r.status_code == 200  # the lane key works on lane endpoints
    r = requests.post(
        f"{server.url}/v1/lane/verify",
        json={"token": body.token, "lane_id": "l"},
        headers=bearer(provisioned.cart_key),
        timeout=5,
    )
    assert r.status_code == 403
    other_cart = server.db.add_principal("cart", "cart-other")
    r = post_handoff(server, other_cart, body, body.handoff_id)
    assert r.status_code == 403 and r.json()["type"] == "wrong-cart"


@pytest.mark.security
@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(total_cents="4090"),  # a string where a number belongs
        lambda d: d.update(surprise=True),  # an unknown field
        lambda d: d["lines"][0].update(quantity=-1),
        lambda d: d.update(handoff_id="../../etc/passwd"),
        lambda d: d.update(lines=[d["lines"][0]] * 1001),
        lambda d: d.pop("token"),
    ],
)
def test_schema_violations_are_refused(
    server: StoreServer, provisioned: Provisioned, mutate: Any
) -> None:
    request = make_handoff(provisioned.signing_key)
    body = request.model_dump()
    mutate(body)
    import json

    r = post_handoff(server, provisioned.cart_key, json.dumps(body), request.handoff_id)
    assert r.status_code == 422, r.text
    assert r.json()["type"] == "invalid-request"
    assert server.db.count_handoffs() == 0


@pytest.mark.security
def test_oversized_and_malformed_bodies(server: StoreServer, provisioned: Provisioned) -> None:
    big = b'{"x":"' + b"a" * (2 * 1024 * 1024) + b'"}'
    r = post_handoff(server, provisioned.cart_key, big, "a" * 32)
    assert r.status_code == 413 and r.json()["type"] == "body-too-large"
    r = post_handoff(server, provisioned.cart_key, b"{not json", "a" * 32)
    assert r.status_code == 422


# --- handoff ---------------------------------------------------------------------------------


def test_handoff_is_idempotent(server: StoreServer, provisioned: Provisioned) -> None:
    body = make_handoff(provisioned.signing_key)
    first = post_handoff(server, provisioned.cart_key, body, body.handoff_id)
    assert first.status_code == 201, first.text
    assert first.json()["replayed"] is False
    again = post_handoff(server, provisioned.cart_key, body, body.handoff_id)
    assert again.status_code == 200
    assert again.json()["replayed"] is True and again.headers["idempotent-replayed"] == "true"
    assert server.db.count_handoffs() == 1


@pytest.mark.security
def test_replayed_key_with_another_basket_conflicts(
    server: StoreServer, provisioned: Provisioned
) -> None:
    body = make_handoff(provisioned.signing_key)
    assert post_handoff(server, provisioned.cart_key, body, body.handoff_id).status_code == 201
    changed = body.model_copy(update={"created_at": body.created_at + 1})
    r = post_handoff(server, provisioned.cart_key, changed, body.handoff_id)
    assert r.status_code == 409 and r.json()["type"] == "idempotency-conflict"


def test_idempotency_key_required_and_matching(
    server: StoreServer, provisioned: Provisioned
) -> None:
    body = make_handoff(provisioned.signing_key)
    r = post_handoff(server, provisioned.cart_key, body, None)
    assert r.status_code == 428
    r = post_handoff(server, provisioned.cart_key, body, "b" * 32)
    assert r.status_code == 422 and r.json()["type"] == "idempotency-key-mismatch"


@pytest.mark.security
def test_basket_that_differs_from_its_token_is_refused(
    server: StoreServer, provisioned: Provisioned
) -> None:
    body = make_handoff(provisioned.signing_key)
    lines = list(body.lines)
    lines[0] = lines[0].model_copy(update={"net_cents": 1})
    tampered = body.model_copy(update={"lines": lines})
    r = post_handoff(server, provisioned.cart_key, tampered, body.handoff_id)
    assert r.status_code == 422 and r.json()["type"] == "basket-mismatch"
    assert "lines hash" in r.json()["detail"]


@pytest.mark.security
def test_forged_token_is_refused(server: StoreServer, provisioned: Provisioned) -> None:
    intruder = CartKey.generate()
    body = make_handoff(intruder)
    r = post_handoff(server, provisioned.cart_key, body, body.handoff_id)
    assert r.status_code == 422 and r.json()["type"] == "token-unknown-key"
    # Register the intruder's id with the real key: the signature no longer matches.
    server.db.register_cart_key(
        CART_ID, intruder.key_id, provisioned.signing_key.public_key_b64, 0.0
    )
    r = post_handoff(server, provisioned.cart_key, body, body.handoff_id)
    assert r.status_code == 422 and r.json()["type"] == "token-forged"
    r = lane(server, provisioned, "verify", {"token": body.token, "lane_id": "l"})
    assert r.status_code == 422 and r.json()["type"] == "token-forged"


def test_late_basket_with_expired_token_is_recorded_but_not_payable(
    server: StoreServer, provisioned: Provisioned
) -> None:
    body = make_handoff(provisioned.signing_key, issued=int(time.time()) - 7200, expires_in=60)
    assert post_handoff(server, provisioned.cart_key, body, body.handoff_id).status_code == 201
    r = lane(server, provisioned, "verify", {"token": body.token, "lane_id": "l"})
    assert r.status_code == 422 and r.json()["type"] == "token-expired"


# --- lane ------------------------------------------------------------------------------------


def test_lane_pays_before_the_basket_arrives(server: StoreServer, provisioned: Provisioned) -> None:
    body = make_handoff(provisioned.signing_key)
    verified = lane(server, provisioned, "verify", {"token": body.token, "lane_id": "l"}).json()
    assert verified["payable"] and not verified["basket_received"] and verified["lines"] is None
    pay = {"token": body.token, "lane_id": "l", "payment_ref": "r1", "amount_cents": 4090}
    first = lane(server, provisioned, "pay", pay)
    assert first.status_code == 200 and first.json()["replayed"] is False
    again = lane(server, provisioned, "pay", pay)
    assert again.status_code == 200 and again.json()["replayed"] is True
    ack = post_handoff(server, provisioned.cart_key, body, body.handoff_id)
    assert ack.status_code == 201 and ack.json()["status"] == "paid"
    verified = lane(server, provisioned, "verify", {"token": body.token, "lane_id": "l"}).json()
    assert verified["basket_received"] and verified["age_restricted"]
    assert server.db.count_handoffs() == 1


@pytest.mark.security
def test_lane_amount_must_match_the_token(server: StoreServer, provisioned: Provisioned) -> None:
    body = make_handoff(provisioned.signing_key)
    pay = {"token": body.token, "lane_id": "l", "payment_ref": "r1", "amount_cents": 1}
    r = lane(server, provisioned, "pay", pay)
    assert r.status_code == 422 and r.json()["type"] == "amount-mismatch"


@pytest.mark.security
def test_one_session_is_never_paid_twice(server: StoreServer, provisioned: Provisioned) -> None:
    first = make_handoff(provisioned.signing_key, session_id="s-twice")
    second = make_handoff(provisioned.signing_key, session_id="s-twice")
    for body in (first, second):
        assert post_handoff(server, provisioned.cart_key, body, body.handoff_id).status_code == 201
    # The second handoff superseded the first: its token is no longer payable.
    r = lane(
        server,
        provisioned,
        "pay",
        {"token": first.token, "lane_id": "l", "payment_ref": "a", "amount_cents": 4090},
    )
    assert r.status_code == 409 and r.json()["type"] == "handoff-superseded"
    r = lane(
        server,
        provisioned,
        "pay",
        {"token": second.token, "lane_id": "l", "payment_ref": "b", "amount_cents": 4090},
    )
    assert r.status_code == 200
    third = make_handoff(provisioned.signing_key, session_id="s-twice")
    r = post_handoff(server, provisioned.cart_key, third, third.handoff_id)
    assert r.status_code == 409 and r.json()["type"] == "already-paid"


def test_concurrent_payments_charge_once(server: StoreServer, provisioned: Provisioned) -> None:
    body = make_handoff(provisioned.signing_key)
    results: list[int] = []

    def pay(ref: str) -> None:
        r = lane(
            server,
            provisioned,
            "pay",
            {"token": body.token, "lane_id": "l", "payment_ref": ref, "amount_cents": 4090},
        )
        results.append(r.status_code)

    threads = [threading.Thread(target=pay, args=(f"ref-{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] + [409] * 7


# --- client calls against the real server ----------------------------------------------------


def test_long_poll_returns_when_paid(
    server: StoreServer, provisioned: Provisioned, client: StoreClient
) -> None:
    body = make_handoff(provisioned.signing_key)
    assert client.hand_off(body).status == "awaiting_payment"
    assert client.payment_status(body.handoff_id).status == "awaiting_payment"

    def pay_soon() -> None:
        time.sleep(0.3)
        lane(
            server,
            provisioned,
            "pay",
            {"token": body.token, "lane_id": "l", "payment_ref": "r", "amount_cents": 4090},
        )

    threading.Thread(target=pay_soon).start()
    started = time.monotonic()
    status = client.payment_status(body.handoff_id, wait_s=10)
    assert status.status == "paid" and status.amount_cents == 4090
    assert time.monotonic() - started < 3  # woke on the payment, not at the end of the wait


def test_void_then_pay_is_refused(
    server: StoreServer, provisioned: Provisioned, client: StoreClient
) -> None:
    body = make_handoff(provisioned.signing_key)
    client.hand_off(body)
    assert client.void_handoff(body.handoff_id, "weight changed").status == "void"
    assert client.void_handoff(body.handoff_id, "again").status == "void"  # idempotent
    r = lane(
        server,
        provisioned,
        "pay",
        {"token": body.token, "lane_id": "l", "payment_ref": "r", "amount_cents": 4090},
    )
    assert r.status_code == 409


def test_session_key_telemetry_and_badges(
    server: StoreServer, provisioned: Provisioned, client: StoreClient
) -> None:
    start = SessionStart(session_id="s-9", cart_id=CART_ID, started_at=time.time())
    assert client.start_session(start).created is True
    assert client.start_session(start).created is False
    fresh = CartKey.generate()
    assert client.register_key(CART_ID, fresh.key_id, fresh.public_key_b64).created
    assert not client.register_key(CART_ID, fresh.key_id, fresh.public_key_b64).created
    with pytest.raises(StoreHTTPError) as caught:
        client.register_key(CART_ID, fresh.key_id, provisioned.signing_key.public_key_b64)
    assert caught.value.status == 422  # the key id must be the key's hash
    batch = TelemetryBatch.model_validate(
        {
            "cart_id": CART_ID,
            "events": [
                {"kind": "battery", "event_id": "e1", "t": 1.0, "percent": 80, "charging": True},
                {
                    "kind": "error",
                    "event_id": "e2",
                    "t": 1.0,
                    "component": "scale",
                    "severity": "warning",
                    "message": "silent",
                },
            ],
        }
    )
    assert client.send_telemetry(batch).accepted == 2
    ack = client.send_telemetry(batch)
    assert (ack.accepted, ack.duplicates) == (0, 2)

    server.db.add_badge("BADGE-777", "staff-7", "Kim", ["maintenance"])
    ok = client.verify_badge("BADGE-777", CART_ID)
    assert ok.valid and ok.staff_id == "staff-7" and ok.roles == ["maintenance"]
    assert not client.verify_badge("BADGE-000", CART_ID).valid


@pytest.mark.security
def test_badge_guessing_is_limited(server: StoreServer, client: StoreClient) -> None:
    for _ in range(10):
        assert not client.verify_badge("guess", CART_ID).valid
    with pytest.raises(StoreHTTPError) as caught:
        client.verify_badge("guess", CART_ID)
    assert caught.value.status == 429


def test_client_reports_auth_errors(server: StoreServer) -> None:
    from tests.store.conftest import fast_settings

    bad = StoreClient.from_settings(fast_settings(server.url, "sck_wrong-wrong-wrong"))
    with pytest.raises(StoreAuthError, match="401"):
        bad.catalog()


def test_admin_catalog_upload(server: StoreServer, provisioned: Provisioned) -> None:
    doc = demo_catalog_doc()
    r = requests.put(
        f"{server.url}/v1/admin/catalog",
        json={"catalog": doc},
        headers=bearer(provisioned.admin_key),
        timeout=10,
    )
    assert r.status_code == 200 and r.json()["changed"] == 0
    bad = dict(doc)
    bad["tax_classes"] = {}
    r = requests.put(
        f"{server.url}/v1/admin/catalog",
        json={"catalog": bad},
        headers=bearer(provisioned.admin_key),
        timeout=10,
    )
    assert r.status_code == 422 and r.json()["type"] == "invalid-catalog"
    r = requests.put(
        f"{server.url}/v1/admin/catalog",
        json={"catalog": doc},
        headers=bearer(provisioned.cart_key),
        timeout=10,
    )
    assert r.status_code == 403

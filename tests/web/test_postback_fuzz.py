"""Random postbacks, signed and unsigned, form and JSON, against the real Starlette app and
a real SQLite file: never a 500, and every refusal carries a one-line reason."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from bot.app import Kocbot
from bot.config import parse_config
from tests.support.clock import Clock
from tests.support.config import POSTBACK_SECRET
from tests.support.databases import fresh_sqlite
from tests.support.flow import sign
from tests.support.world import FEED, add_group, add_post, clicks, product_ids, register, tap

FIELDS = ("click_id", "order_id", "amount", "status", "commission", "currency", "ts")
VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["pending", "confirmed", "cancelled", "refunded", "shipped", "", "CNY", "usd",
                     "39.00", "0", "-1", "1e9", "NaN", "99999999999999999999", "12.345",
                     "2026-11-24T10:00:00Z", "2026-13-01", "0.00"]),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers().map(str),
)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):
    url = fresh_sqlite(Path(tmp_path_factory.mktemp("fuzz")))
    config = parse_config({"telegram": {"token": "1:T"}, "database": {"url": url},
                           "postback": {"secret": POSTBACK_SECRET}}, env={})
    kocbot = Kocbot(config, now=Clock())
    s = kocbot.services
    s.catalog.import_feed(FEED, filename="feed.csv")
    register(s, 1, "Pro")
    link = tap(s, add_post(s, add_group(s, -1, "G", 1), product_ids(s)["SKU1"]), 2, "Mem")
    known = clicks(s, link, 3)
    with TestClient(kocbot.web, raise_server_exceptions=False) as client:
        yield client, known
    kocbot.db.dispose()


@st.composite
def postbacks(draw: st.DrawFn, known: list[str]) -> tuple[str, bytes]:
    """A content type and a body: random fields, often correctly signed, sometimes garbage."""
    kind = draw(st.sampled_from(["form", "json", "raw"]))
    if kind == "raw":
        return draw(st.sampled_from(["application/json", "application/x-www-form-urlencoded",
                                     "text/plain"])), draw(st.binary(max_size=200))
    names = draw(st.lists(st.sampled_from(FIELDS), unique=True))
    fields = {n: draw(VALUES) for n in names}
    if "click_id" in fields and draw(st.booleans()):
        fields["click_id"] = draw(st.sampled_from(known))
    if draw(st.integers(0, 3)):
        fields["sig"] = sign(fields)
    elif draw(st.booleans()):
        fields["sig"] = draw(st.text(max_size=64))
    if kind == "json":
        return "application/json", json.dumps(fields).encode()
    return "application/x-www-form-urlencoded", urlencode(fields).encode()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_postbacks_never_get_a_500(app, data) -> None:
    client, known = app
    content_type, body = data.draw(postbacks(known))
    response = client.post("/postback", content=body, headers={"content-type": content_type})
    assert response.status_code in (200, 202, 400, 401, 409, 413), (response.status_code, response.text)
    payload = response.json()
    if response.status_code >= 400:
        assert payload["error"] and "\n" not in payload["error"] and "Traceback" not in payload["error"]


def test_each_field_is_validated_with_a_reason(app) -> None:
    client, known = app
    good = {"click_id": known[0], "order_id": "V-1", "amount": "39.00", "status": "pending"}
    cases = {"amount": "-3", "status": "shipped", "order_id": "", "ts": "yesterday",
             "currency": "yen", "commission": "abc"}
    for name, bad in cases.items():
        fields = dict(good, **{name: bad})
        response = client.post("/postback", data=dict(fields, sig=sign(fields)))
        assert response.status_code == 400, (name, response.text)
        assert name in response.json()["error"], (name, response.json())
    response = client.post("/postback", data=dict(good, sig="00" * 32))
    assert response.status_code == 401
    response = client.post("/postback", data=dict(good, sig=sign(good)))
    assert response.status_code == 200
    response = client.post("/postback", data=dict(good, sig=sign(good)))
    assert (response.status_code, response.json()["reason"]) == (200, "repeated report, no change")
    unknown = dict(good, click_id="nosuchclick0000", order_id="V-2")
    assert client.post("/postback", data=dict(unknown, sig=sign(unknown))).status_code == 202
    cancel = dict(good, status="cancelled")
    assert client.post("/postback", data=dict(cancel, sig=sign(cancel))).status_code == 200
    confirm = dict(good, status="confirmed")
    response = client.post("/postback", data=dict(confirm, sig=sign(confirm)))
    assert response.status_code == 409 and "cancelled" in response.json()["reason"]

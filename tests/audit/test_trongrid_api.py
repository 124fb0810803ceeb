"""The devnet's TronGrid v1 account history, as the audit reads it: shapes, windows, filters, paging."""

from __future__ import annotations

import time
from typing import Any

from harness.clients.devnet import Devnet
from tests.e2e.test_payouts import new_address


def history(devnet: Devnet, address: str, trc20: bool = False, **params: Any) -> Any:
    path = f"/v1/accounts/{address}/transactions" + ("/trc20" if trc20 else "")
    return devnet.http.get(path, params=params)


def test_transactions_page_by_fingerprint_within_the_time_window(devnet: Devnet) -> None:
    address = new_address()
    start = int(time.time() * 1000) - 1000
    first, second = devnet.fund(address, 2_000_000), devnet.fund(address, 3_000_000)
    page = history(devnet, address, limit=1, order_by="block_timestamp,asc", min_timestamp=start).json()
    assert page["success"] is True and page["meta"]["page_size"] == 1
    assert [tx["txID"] for tx in page["data"]] == [first]
    item = page["data"][0]
    assert item["ret"][0]["contractRet"] == "SUCCESS" and item["block_timestamp"] >= start
    assert item["raw_data"]["contract"][0]["parameter"]["value"]["amount"] == 2_000_000
    assert page["meta"]["links"]["next"].startswith(devnet.url)
    following = history(
        devnet,
        address,
        limit=1,
        order_by="block_timestamp,asc",
        min_timestamp=start,
        fingerprint=page["meta"]["fingerprint"],
    ).json()
    assert [tx["txID"] for tx in following["data"]] == [second] and "fingerprint" not in following["meta"]
    assert history(devnet, address, only_from="true").json()["data"] == [], "it only received"
    newest = history(devnet, address).json()["data"]
    assert [tx["txID"] for tx in newest] == [second, first], "newest first by default"
    later = int(time.time() * 1000) + 60_000
    assert history(devnet, address, min_timestamp=later).json()["data"] == []


def test_trc20_lists_the_tokens_transfer_events_with_the_value_as_text(devnet: Devnet) -> None:
    address = new_address()
    txid = devnet.fund(address, 4_500_000, "USDT")
    events = history(devnet, address, trc20=True, contract_address=devnet.info()["usdt_contract_address"])
    (event,) = events.json()["data"]
    assert event["transaction_id"] == txid and event["to"] == address and event["value"] == "4500000"
    assert event["type"] == "Transfer" and event["token_info"]["symbol"] == "USDT"
    assert event["token_info"]["decimals"] == 6


def test_bad_options_answer_400_naming_what_to_fix(devnet: Devnet) -> None:
    address = new_address()
    for params, named in (
        ({"limit": 500}, "limit"),
        ({"only_confirmed": "yes"}, "only_confirmed"),
        ({"fingerprint": "nonsense"}, "fingerprint"),
        ({"colour": "blue"}, "colour"),
    ):
        answer = history(devnet, address, **params)
        assert answer.status_code == 400 and named in answer.json()["error"], answer.text
    assert history(devnet, "not-an-address").status_code == 400

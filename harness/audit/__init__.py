"""The money checker: the service's ledger (its admin API) against the chain (TronGrid's account
history), for any deployment of the contract. The store is never read.

- ledger.py: the service's side, paged from GET /admin/ledger and /admin/wallets;
- chain.py: the chain's side, from /v1/accounts/{address}/transactions[/trc20];
- checks.py: the findings an auditor signs off on (findings.py names them);
- run.py: one audit end to end, as `tronops audit` and the tests run it.
"""

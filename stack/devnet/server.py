"""The HTTP server and the in-process handle: start_devnet(config) -> DevnetHandle."""

from __future__ import annotations

import sys
import threading
import traceback
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from stack.devnet.app import LOST, DevnetApp, Response, json_response
from stack.devnet.chain import Chain
from stack.devnet.config import DevnetConfig, Genesis
from stack.devnet.control_api import FAULT_PARAMS, ControlApi
from stack.devnet.faucet import Faucet
from stack.devnet.faults import Faults
from stack.devnet.metrics import DevnetMetrics
from stack.devnet.producer import BlockProducer
from stack.devnet.trongrid import TronGridApi
from stack.devnet.wallet_api import WalletApi


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not hold up stop()
    request_queue_size = 256  # load tests open many connections at once

    def __init__(self, address: tuple[str, int], app: DevnetApp) -> None:
        self.app = app
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: tronpy's requests session and httpx reuse connections
    # Headers and body go out as two writes; with Nagle on, delayed ACKs add ~40 ms to every answer.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._send(json_response({"Error": "bad Content-Length"}, 400))
            return
        body = self.rfile.read(length) if length > 0 else b""
        try:
            url = urlsplit(self.path)
            host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
            response = self.server.app.handle(method, url.path, body, url.query, f"http://{host}")
        except Exception as exc:  # a bug must answer 500, not drop the connection
            traceback.print_exc(file=sys.stderr)
            response = json_response({"Error": f"devnet internal error: {exc!r}"}, 500)
        self._send(response)

    def _send(self, response: Response) -> None:
        if response.status == LOST:
            self.close_connection = True  # the node took the request; the client gets no answer
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # a line per request would swamp stderr under load; /metrics counts requests instead


@dataclass
class DevnetHandle:
    url: str
    treasury_address: str
    usdt_contract_address: str
    _server: _Server
    _serving: threading.Thread
    _producer: BlockProducer

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._serving.join()
        self._producer.stop()


def start_devnet(config: DevnetConfig) -> DevnetHandle:
    """Start serving in background threads; raises GenesisError / OSError if it cannot."""
    genesis = Genesis.load(config.genesis_path)
    faults = Faults()

    def forced_trc20_failure() -> str | None:
        hit = faults.hits("revert_trc20")
        return str(hit["reason"]) if hit is not None else None

    chain = Chain(
        genesis,
        confirmations=config.confirmations,
        unfreeze_delay_ms=int(config.unfreeze_delay * 1000),
        block_interval_ms=int(config.block_interval * 1000),
        broadcast_cache_ttl_s=config.broadcast_cache_ttl,
        memo_fee=config.memo_fee,
        energy_fee=config.energy_fee,
        forced_trc20_failure=forced_trc20_failure,
    )
    app = DevnetApp(
        WalletApi(chain, faults, unfreeze_delay=config.unfreeze_delay),
        ControlApi(chain, faults, Faucet(chain, genesis.treasury_key), config),
        faults,
        DevnetMetrics(chain, faults, tuple(FAULT_PARAMS)),
        # An indexer over the network's blocks: it follows the real head, not a lagging node's.
        TronGridApi(
            chain, solid_height=lambda: chain.solid_below(chain.height), head_height=lambda: chain.height
        ),
    )
    server = _Server((config.host, config.port), app)
    port = server.server_address[1]
    # stop() waits up to one poll interval for the serving loop to notice the shutdown.
    serving = threading.Thread(target=server.serve_forever, args=(0.1,), name="devnet-http", daemon=True)
    serving.start()
    producer = BlockProducer(chain, faults, config.block_interval)
    producer.start()
    return DevnetHandle(
        url=f"http://{config.host}:{port}",
        treasury_address=genesis.treasury_address,
        usdt_contract_address=genesis.usdt_contract_address,
        _server=server,
        _serving=serving,
        _producer=producer,
    )

"""A small, stateful stand-in for Stripe's Checkout Session endpoints, on 127.0.0.1.

Speaks the wire format the ``stripe`` SDK uses: form-encoded bodies with bracketed keys
(``metadata[track]=DP``), bearer-key authentication, ``Idempotency-Key`` replay (and Stripe's
``idempotency_error`` for a key reused with other parameters), JSON answers, Stripe-shaped errors.

**Every ``/v1`` request is first forwarded to stripe-mock** (``tests/support/stripe_mock.py``),
Stripe's own mock server, which checks it against Stripe's OpenAPI description. A 400 from
stripe-mock (unknown parameter, bad enum, wrong type) is answered to the caller as it is and
recorded in :attr:`StripeStandIn.rejections`; :meth:`StripeStandIn.stop` then fails the test.
The objects answered are stripe-mock's fixtures with this stand-in's state laid over them, so
they carry exactly the fields the real objects have. The state stripe-mock lacks lives here:
sessions, payment intents, 404s for unknown ids, idempotent replay.

Endpoints:

- ``POST /v1/checkout/sessions`` creates an open, unpaid session;
- ``GET /v1/checkout/sessions/{id}`` (``expand[]=payment_intent`` expands the payment intent);
- ``POST /_test/sessions/{id}/complete`` with JSON ``{email, name, paid}`` is the test-control
  way to finish a checkout (also :meth:`StripeStandIn.complete` in-process);
- ``GET /v1/charges/{id}``, ``GET /v1/disputes/{id}``, ``GET /v1/refunds/{id}`` and
  ``POST /v1/refunds`` (``payment_intent`` or ``charge``, optional ``amount``, ``reason``,
  ``metadata``; ``Idempotency-Key`` replay; 400 ``charge_already_refunded``). A paid checkout
  gets a charge; :meth:`StripeStandIn.refund`, :meth:`~StripeStandIn.fail_refund`,
  :meth:`~StripeStandIn.open_dispute` and :meth:`~StripeStandIn.set_dispute_status` change it as
  Stripe would and return the Refund or Dispute object for an event's ``data.object``.

Objects carry the fields of Stripe's API reference that the product reads: a Charge has
``amount``, ``amount_refunded``, ``refunded``, ``disputed`` and a nullable ``payment_intent``; a
Dispute ``charge``, a nullable ``payment_intent``, ``status``, ``reason`` and ``amount``; a Refund
``charge``, ``payment_intent``, ``amount``, ``status`` and ``reason``.

:meth:`StripeStandIn.inject` makes the next matching requests answer a given Stripe error (after
stripe-mock has checked them), for tests of Stripe's refusals and outages.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.support.stripe_mock import stripe_mock_url

_KEY_PART = re.compile(r"\[([^\]]*)\]")


def parse_form(body: str) -> dict[str, Any]:
    """Stripe's bracketed form encoding into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        head = key.split("[", 1)[0]
        path = [head, *_KEY_PART.findall(key)]
        node: Any = root
        for index, part in enumerate(path):
            last = index == len(path) - 1
            next_is_list = not last and (path[index + 1] == "" or path[index + 1].isdigit())
            if isinstance(node, list):
                position = len(node) if part == "" else int(part)
                while len(node) <= position:
                    node.append(None)
                if last:
                    node[position] = value
                else:
                    if node[position] is None:
                        node[position] = [] if next_is_list else {}
                    node = node[position]
            elif last:
                node[part] = value
            else:
                node = node.setdefault(part, [] if next_is_list else {})
    return root


# Kept with a session for the stand-in's own use; not fields of Stripe's Checkout Session object.
_INTERNAL_FIELDS = ("line_items_params", "payment_intent_data", "details_fixture")
FORWARDED_HEADERS = ("Authorization", "Content-Type", "Stripe-Version", "Idempotency-Key")


@dataclass(frozen=True)
class Rejection:
    """A request stripe-mock refused (400): it does not match Stripe's API description."""

    method: str
    path: str
    message: str


@dataclass
class _Injected:
    status: int
    error: dict[str, Any]
    method: str
    path_prefix: str
    times: int


@dataclass
class StripeStandIn:
    """The server and its state. ``requests`` counts calls per (method, path kind)."""

    api_key: str = "sk_test_standin"
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    payment_intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotent: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    disputes: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    mock_url: str = ""
    _idempotency_params: dict[str, str] = field(default_factory=dict)
    _injected: list[_Injected] = field(default_factory=list)
    _intent_fixture: dict[str, Any] | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> StripeStandIn:
        standin = self
        self.mock_url = stripe_mock_url()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return

            def do_GET(self) -> None:
                standin._dispatch(self, "GET")

            def do_POST(self) -> None:
                standin._dispatch(self, "POST")

            def do_DELETE(self) -> None:
                standin._dispatch(self, "DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving; fails (``AssertionError``) when stripe-mock refused any request."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        self.assert_no_rejections()

    def assert_no_rejections(self) -> None:
        """Raise ``AssertionError`` listing every request stripe-mock refused."""
        if self.rejections:
            lines = "; ".join(f"{r.method} {r.path}: {r.message}" for r in self.rejections)
            raise AssertionError(f"stripe-mock refused requests the code made: {lines}")

    def inject(
        self, status: int, error: dict[str, Any], method: str, path_prefix: str, times: int = 1
    ) -> None:
        """Answer the next ``times`` matching requests with a Stripe error (``{type, message}``)."""
        with self.lock:
            self._injected.append(_Injected(status, error, method, path_prefix, times))

    def forward(
        self, method: str, path_and_query: str, raw: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        """Send a request to stripe-mock; its status and JSON body."""
        request = urllib.request.Request(
            self.mock_url + path_and_query,
            data=raw.encode() if method != "GET" else None,
            method=method,
            headers={k: v for k, v in headers.items() if k in FORWARDED_HEADERS and v},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def _fixture(self, method: str, path: str) -> dict[str, Any]:
        status, body = self.forward(method, path, "", {"Authorization": f"Bearer {self.api_key}"})
        assert status == 200, f"stripe-mock fixture {path}: {status} {body}"
        return body

    def create_session(
        self, params: dict[str, Any], fixture: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A new open, unpaid session from creation parameters, over stripe-mock's fixture
        (the answer stripe-mock gave to the same request, or its Checkout Session fixture)."""
        if fixture is None:
            fixture = self._fixture("GET", "/v1/checkout/sessions/cs_fixture")
        line_items = params.get("line_items") or []
        amount = sum(
            int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1))
            for item in line_items
        )
        currency = line_items[0]["price_data"]["currency"] if line_items else "usd"
        session_id = "cs_test_" + secrets.token_hex(16)
        session = {
            **fixture,
            "id": session_id,
            "object": "checkout.session",
            "mode": params.get("mode"),
            "status": "open",
            "payment_status": "unpaid",
            "amount_subtotal": amount,
            "amount_total": amount,
            "currency": currency,
            "client_reference_id": params.get("client_reference_id"),
            "customer_email": params.get("customer_email"),
            "customer_details": None,
            "metadata": params.get("metadata") or {},
            "payment_intent": None,
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            "livemode": False,
            "line_items_params": line_items,
            "payment_intent_data": params.get("payment_intent_data") or {},
            "details_fixture": fixture.get("customer_details") or {},
        }
        self.sessions[session_id] = session
        return session

    def complete(self, session_id: str, email: str, name: str, paid: bool = True) -> dict[str, Any]:
        """Finish a checkout: customer details, a payment intent, paid or still processing.

        ``paid=False`` is a delayed payment method (a bank debit): the session is ``complete``
        with ``payment_status: unpaid`` and the payment intent ``processing``.
        """
        if self._intent_fixture is None:
            self._intent_fixture = self._fixture("GET", "/v1/payment_intents/pi_fixture")
        with self.lock:
            session = self.sessions[session_id]
            intent_id = session["payment_intent"] or "pi_test_" + secrets.token_hex(12)
            self.payment_intents[intent_id] = {
                **self._intent_fixture,
                "id": intent_id,
                "object": "payment_intent",
                "amount": session["amount_total"],
                "amount_received": session["amount_total"] if paid else 0,
                "currency": session["currency"],
                "status": "succeeded" if paid else "processing",
                "metadata": session["payment_intent_data"].get("metadata") or {},
                "livemode": False,
            }
            session.update(
                status="complete",
                payment_status="paid" if paid else "unpaid",
                customer_details={**session["details_fixture"], "email": email, "name": name},
                payment_intent=intent_id,
            )
            if paid:
                self._charge_intent(intent_id)
            return self._session_view(session, [])

    def settle(self, session_id: str, succeeded: bool) -> dict[str, Any]:
        """A delayed payment's outcome: the session becomes ``paid`` or stays ``unpaid``."""
        with self.lock:
            session = self.sessions[session_id]
            intent = self.payment_intents[session["payment_intent"]]
            intent["status"] = "succeeded" if succeeded else "requires_payment_method"
            intent["amount_received"] = intent["amount"] if succeeded else 0
            if succeeded:
                session["payment_status"] = "paid"
                self._charge_intent(session["payment_intent"])
            return self._session_view(session, [])

    def expire(self, session_id: str) -> dict[str, Any]:
        """The session expired unpaid (``checkout.session.expired``)."""
        with self.lock:
            session = self.sessions[session_id]
            session.update(status="expired", url=None)
            return self._session_view(session, [])

    def _charge_intent(self, intent_id: str) -> dict[str, Any]:
        """The succeeded charge of a payment intent (created on first call)."""
        intent = self.payment_intents[intent_id]
        if intent.get("latest_charge") in self.charges:
            return self.charges[intent["latest_charge"]]
        charge_id = "ch_test_" + secrets.token_hex(12)
        self.charges[charge_id] = {
            "id": charge_id,
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": intent["amount"],
            "amount_refunded": 0,
            "captured": True,
            "currency": intent["currency"],
            "disputed": False,
            "paid": True,
            "payment_intent": intent_id,
            "refunded": False,
            "status": "succeeded",
            "metadata": dict(intent["metadata"]),
        }
        intent.update(status="succeeded", latest_charge=charge_id)
        return self.charges[charge_id]

    def charge_of(self, intent_id: str) -> dict[str, Any]:
        """A copy of the payment intent's charge."""
        with self.lock:
            return dict(self._charge_intent(intent_id))

    def _create_refund(self, charge: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        remaining = charge["amount"] - charge["amount_refunded"]
        amount = int(params.get("amount") or remaining)
        refund_id = "re_test_" + secrets.token_hex(12)
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "currency": charge["currency"],
            "payment_intent": charge["payment_intent"],
            "reason": params.get("reason"),
            "status": "succeeded",
            "metadata": params.get("metadata") or {},
        }
        self.refunds[refund_id] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        return refund

    def refund(self, intent_id: str, amount: int | None = None) -> dict[str, Any]:
        """Refund (part of) a payment, as support would in the Dashboard; the Refund object."""
        with self.lock:
            charge = self._charge_intent(intent_id)
            return dict(self._create_refund(charge, {"amount": amount}))

    def fail_refund(self, refund_id: str) -> dict[str, Any]:
        """A refund the bank returned: ``failed``, its amount back on the charge."""
        with self.lock:
            refund = self.refunds[refund_id]
            charge = self.charges[refund["charge"]]
            refund["status"] = "failed"
            charge["amount_refunded"] -= refund["amount"]
            charge["refunded"] = False
            return dict(refund)

    def open_dispute(
        self,
        intent_id: str,
        status: str = "needs_response",
        reason: str = "fraudulent",
        with_payment_intent: bool = True,
    ) -> dict[str, Any]:
        """A dispute (or, with a ``warning_`` status, an inquiry) on the payment's charge.

        ``with_payment_intent=False``: the Dispute's ``payment_intent`` is null, as Stripe sends
        for charges made without one; the product must resolve it through ``charge``.
        """
        with self.lock:
            charge = self._charge_intent(intent_id)
            dispute_id = "dp_test_" + secrets.token_hex(12)
            self.disputes[dispute_id] = {
                "id": dispute_id,
                "object": "dispute",
                "amount": charge["amount"],
                "charge": charge["id"],
                "currency": charge["currency"],
                "payment_intent": intent_id if with_payment_intent else None,
                "reason": reason,
                "status": status,
                "is_charge_refundable": False,
            }
            charge["disputed"] = True
            return dict(self.disputes[dispute_id])

    def set_dispute_status(self, dispute_id: str, status: str) -> dict[str, Any]:
        """Move a dispute on (``under_review``, ``won``, ``lost``, ``warning_closed``...)."""
        with self.lock:
            self.disputes[dispute_id]["status"] = status
            return dict(self.disputes[dispute_id])

    def _session_view(self, session: dict[str, Any], expand: list[str]) -> dict[str, Any]:
        view = {k: v for k, v in session.items() if k not in _INTERNAL_FIELDS}
        if "payment_intent" in expand and session["payment_intent"]:
            view["payment_intent"] = dict(self.payment_intents[session["payment_intent"]])
        return view

    def _take_injected(self, method: str, path: str) -> _Injected | None:
        for injected in self._injected:
            if injected.method == method and path.startswith(injected.path_prefix):
                injected.times -= 1
                if injected.times == 0:
                    self._injected.remove(injected)
                return injected
        return None

    def _idempotent_replay(
        self, handler: BaseHTTPRequestHandler, key: str | None, raw: str
    ) -> bool:
        """Answer a reused ``Idempotency-Key``; ``True`` when answered."""
        if not key or key not in self.idempotent:
            return False
        if self._idempotency_params[key] != hashlib.sha256(raw.encode()).hexdigest():
            message = (
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request."
            )
            _send(handler, 400, {"error": {"message": message, "type": "idempotency_error"}})
            return True
        _send(handler, 200, self.idempotent[key])
        return True

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode() if length else ""
        if parts.path.startswith("/_test/sessions/") and parts.path.endswith("/complete"):
            session_id = parts.path.split("/")[3]
            if session_id not in self.sessions:
                return _send(handler, 404, _error("No such checkout.session"))
            body = json.loads(raw or "{}")
            completed = self.complete(
                session_id, body["email"], body["name"], body.get("paid", True)
            )
            return _send(handler, 200, completed)
        if handler.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _send(handler, 401, _error("Invalid API Key provided", "invalid_request_error"))
        headers = {name: handler.headers.get(name, "") for name in FORWARDED_HEADERS}
        status, fixture = self.forward(method, handler.path, raw, headers)
        if status == 400:
            message = str((fixture.get("error") or {}).get("message"))
            with self.lock:
                self.rejections.append(Rejection(method, parts.path, message))
            return _send(handler, 400, fixture)
        with self.lock:
            injected = self._take_injected(method, parts.path)
            if injected is not None:
                self.requests.append((method, "injected"))
                return _send(handler, injected.status, {"error": injected.error})
            if method == "POST" and parts.path == "/v1/checkout/sessions":
                self.requests.append(("POST", "sessions"))
                key = handler.headers.get("Idempotency-Key")
                if self._idempotent_replay(handler, key, raw):
                    return None
                created = self.create_session(parse_form(raw), fixture)
                session = self._session_view(created, [])
                if key:
                    self.idempotent[key] = session
                    self._idempotency_params[key] = hashlib.sha256(raw.encode()).hexdigest()
                return _send(handler, 200, session)
            match = re.fullmatch(r"/v1/checkout/sessions/([A-Za-z0-9_]+)", parts.path)
            if method == "GET" and match:
                self.requests.append(("GET", "session"))
                stored = self.sessions.get(match.group(1))
                if stored is None:
                    message = f"No such checkout.session: '{match.group(1)}'"
                    return _send(handler, 404, _error(message, param="session"))
                query = parse_form(parts.query)
                expand = query.get("expand") or []
                return _send(handler, 200, self._session_view(stored, expand))
            return self._dispatch_money(handler, method, parts.path, raw)

    def _dispatch_money(
        self, handler: BaseHTTPRequestHandler, method: str, path: str, raw: str
    ) -> None:
        """Charges, disputes and refunds (called with the lock held)."""
        stores = {"charges": self.charges, "disputes": self.disputes, "refunds": self.refunds}
        match = re.fullmatch(r"/v1/(charges|disputes|refunds)/([A-Za-z0-9_]+)", path)
        if method == "GET" and match:
            kind, object_id = match.groups()
            self.requests.append(("GET", kind[:-1]))
            found = stores[kind].get(object_id)
            if found is None:
                message = f"No such {kind[:-1]}: '{object_id}'"
                return _send(handler, 404, _error(message, param="id"))
            return _send(handler, 200, found)
        if method == "POST" and path == "/v1/refunds":
            self.requests.append(("POST", "refunds"))
            key = handler.headers.get("Idempotency-Key")
            if self._idempotent_replay(handler, key, raw):
                return None
            params = parse_form(raw)
            intent = self.payment_intents.get(params.get("payment_intent") or "")
            charge = (
                self._charge_intent(intent["id"])
                if intent
                else self.charges.get(params.get("charge") or "")
            )
            if charge is None:
                return _send(handler, 404, _error("No such charge or payment_intent", param="id"))
            if charge["refunded"]:
                error = _error(f"Charge {charge['id']} has already been refunded.")
                error["error"]["code"] = "charge_already_refunded"
                return _send(handler, 400, error)
            refund = self._create_refund(charge, params)
            if key:
                self.idempotent[key] = refund
                self._idempotency_params[key] = hashlib.sha256(raw.encode()).hexdigest()
            return _send(handler, 200, refund)
        return _send(handler, 404, _error(f"Unrecognized request URL ({method}: {path})"))


def _error(message: str, kind: str = "invalid_request_error", param: str | None = None) -> dict:
    error: dict[str, Any] = {"message": message, "type": kind}
    if param:
        error["param"] = param
        error["code"] = "resource_missing"
    return {"error": error}


def _send(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("Request-Id", "req_" + secrets.token_hex(8))
    handler.end_headers()
    handler.wfile.write(data)

"""A small, stateful stand-in for Stripe's Checkout Session endpoints, on 127.0.0.1.

Speaks the wire format the ``stripe`` SDK uses: form-encoded bodies with bracketed keys
(``metadata[track]=DP``), bearer-key authentication, ``Idempotency-Key`` replay, JSON answers,
Stripe-shaped errors. Endpoints:

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
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

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
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> StripeStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return

            def do_GET(self) -> None:
                standin._dispatch(self, "GET")

            def do_POST(self) -> None:
                standin._dispatch(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        """A new open, unpaid session from creation parameters."""
        line_items = params.get("line_items") or []
        amount = sum(
            int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1))
            for item in line_items
        )
        currency = line_items[0]["price_data"]["currency"] if line_items else "usd"
        session_id = "cs_test_" + secrets.token_hex(16)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": params.get("mode"),
            "status": "open",
            "payment_status": "unpaid",
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
            "line_items_params": line_items,
            "payment_intent_data": params.get("payment_intent_data") or {},
        }
        self.sessions[session_id] = session
        return session

    def complete(self, session_id: str, email: str, name: str, paid: bool = True) -> dict[str, Any]:
        """Finish a checkout: customer details, a payment intent, paid or still processing."""
        with self.lock:
            session = self.sessions[session_id]
            intent_id = session["payment_intent"] or "pi_test_" + secrets.token_hex(12)
            self.payment_intents[intent_id] = {
                "id": intent_id,
                "object": "payment_intent",
                "amount": session["amount_total"],
                "currency": session["currency"],
                "status": "succeeded" if paid else "processing",
                "metadata": session["payment_intent_data"].get("metadata") or {},
            }
            session.update(
                status="complete",
                payment_status="paid" if paid else "unpaid",
                customer_details={"email": email, "name": name},
                payment_intent=intent_id,
            )
            if paid:
                self._charge_intent(intent_id)
            return dict(session)

    def _charge_intent(self, intent_id: str) -> dict[str, Any]:
        """The succeeded charge of a payment intent (created on first call)."""
        intent = self.payment_intents[intent_id]
        if intent.get("latest_charge"):
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
        view = {k: v for k, v in session.items() if k not in ("line_items_params",)}
        if "payment_intent" in expand and session["payment_intent"]:
            view["payment_intent"] = self.payment_intents[session["payment_intent"]]
        return view

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
        with self.lock:
            if method == "POST" and parts.path == "/v1/checkout/sessions":
                self.requests.append(("POST", "sessions"))
                key = handler.headers.get("Idempotency-Key")
                if key and key in self.idempotent:
                    return _send(handler, 200, self.idempotent[key])
                session = self._session_view(self.create_session(parse_form(raw)), [])
                if key:
                    self.idempotent[key] = session
                return _send(handler, 200, session)
            match = re.fullmatch(r"/v1/checkout/sessions/([A-Za-z0-9_]+)", parts.path)
            if method == "GET" and match:
                self.requests.append(("GET", "session"))
                session = self.sessions.get(match.group(1))
                if session is None:
                    message = f"No such checkout.session: '{match.group(1)}'"
                    return _send(handler, 404, _error(message, param="session"))
                query = parse_form(parts.query)
                expand = query.get("expand") or []
                return _send(handler, 200, self._session_view(session, expand))
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
            if key and key in self.idempotent:
                return _send(handler, 200, self.idempotent[key])
            params = parse_form(raw)
            intent = self.payment_intents.get(params.get("payment_intent") or "")
            charge = (
                self.charges.get(intent.get("latest_charge") or "")
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

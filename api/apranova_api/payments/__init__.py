"""Payments: checkout, the Stripe webhook, fulfilment, and the gateways that talk to Stripe."""

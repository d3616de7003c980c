"""Payments: state machine, service on the store, validation, HTTP routes."""

from __future__ import annotations

from payedge_server.payments.service import PaymentService

__all__ = ["PaymentService"]

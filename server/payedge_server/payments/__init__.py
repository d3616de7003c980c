"""Payments: the domain model, its repository, operations, refunds, convergence and HTTP routes."""

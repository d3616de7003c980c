"""Locust load scenarios and the bounded headless runner (`make loadtest`)."""

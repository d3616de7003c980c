"""Provider webhooks: one ingest route for every provider (`ingest.py`), events kept for payments
not known yet (`pending.py`)."""

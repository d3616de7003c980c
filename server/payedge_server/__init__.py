"""payedge's edge server: aiohttp app factory, payments API, webhooks, live status, MQTT relay."""

"""`payedge fakes`: faithful local fakes of PayPal, CinetPay, MTN MoMo and Orange Money.

A separate program that ships with the server: nothing here imports the rest of
``payedge_server``. Each provider is one aiohttp application on its own port
(``paypal``, ``cinetpay``, ``momo``, ``orange``), built on the shared machinery of
``base`` (errors, latency, injected faults, admin endpoints), ``magic`` (the
values that decline, time out, answer 5xx or drop the connection), ``ledger``
(money moved, per payment) and ``callbacks`` (signed notifications, retried).
The user guide is docs/gateways.md, "Local fakes".
"""

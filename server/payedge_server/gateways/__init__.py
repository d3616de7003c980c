"""Payment gateways (connectors): one module per provider behind `base.Gateway`; `amounts.py` shared rules."""

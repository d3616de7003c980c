"""One module per section of the config file: a frozen dataclass whose fields are `setting(...)`s.

See `payedge_server.config` for how to add one.
"""

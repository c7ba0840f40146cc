"""Integration hub for Finnish employment and social rehabilitation services.

Layers, each a sub-package:

- ``hub.model``     canonical entities (pydantic) and the configurable domain rules
- ``hub.privacy``   identity codes, pseudonyms, encryption, log redaction
- ``hub.hookspecs`` the plugin hook specifications; ``hub.plugins`` loads plugins
- ``hub.adapter``   the adapter contract every system plugin implements
- ``hub.store``     the SQLAlchemy store (records, identity map, outbox, dead letters, runs, logs)
- ``hub.engine``    extract and deliver, the run of an exchange
- ``hub.exchanges`` the declared exchanges (``config/exchanges.yaml``)
- ``hub.cli``       the ``hub`` command
"""

__version__ = "0.1.0"

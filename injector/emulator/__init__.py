"""A faithful local fake of the three Azure services secret injection talks to: MSI, ARM and Key Vault.

It listens on one 127.0.0.1 port as an HTTPS proxy that terminates TLS for the real Azure host names with its
own CA, so unmodified Azure SDK clients reach it through ``HTTPS_PROXY`` and ``SSL_CERT_FILE`` alone.
"""

from __future__ import annotations

from .config import ConfigError, load_config
from .emulator import Emulator
from .model import EmulatorConfig

__all__ = ["ConfigError", "Emulator", "EmulatorConfig", "load_config"]

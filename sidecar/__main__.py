"""``python -m sidecar`` is ``secret-injector``."""

from .cli import main

raise SystemExit(main())

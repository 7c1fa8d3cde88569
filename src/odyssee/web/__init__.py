"""The back-office web console, served at ``/`` beside the API (docs/console.md).

It imports only ``odyssee.client`` and ``odyssee.settings``: every screen is built from public
API calls, which is the proof that the API suffices for a back office.
"""

from __future__ import annotations

from odyssee.web.app import create_console

__all__ = ["create_console"]

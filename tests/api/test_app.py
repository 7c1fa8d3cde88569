"""The app's lifespan (api/app.py): what start-up built is kept out of full garbage collections
while the app serves, and handed back to the collector when it stops."""

from __future__ import annotations

import gc

from starlette.testclient import TestClient

from odyssee.api.app import create_app
from odyssee.db.engine import Database
from odyssee.settings import Settings


def test_start_up_objects_are_frozen_while_serving_and_collectable_after(database: Database) -> None:
    """A full collection scanned every module, table and cache under load: ~100 ms pauses, the p99
    of a GET (docs/performance.md, point 19). A process that closes an app (tests, reloads) must
    get its objects back, or cycles among them would never be freed."""
    app = create_app(Settings(database_url=database.url), database)
    with TestClient(app, base_url="http://testserver") as client:
        assert client.get("/api/$metadata").status_code == 401, "served (no credentials)"
        assert gc.get_freeze_count() > 10_000, "modules, the model and the app are in the permanent generation"
    assert gc.get_freeze_count() == 0, "unfrozen at shutdown"

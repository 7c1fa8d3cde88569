"""odyssee: a field-service back-end that speaks the Odyssee Mobile integration API.

Layers, each importing only from the ones before it:
``model`` (entities, conventions) <- ``odata`` (query language, serialisation)
<- ``domain`` (plain functions over a session) <- ``api`` (HTTP).
``db`` (engine, migrations) and ``cli`` sit on the side.
"""

__version__ = "0.1.0"

"""The OData query language and wire format, free of HTTP: parse -> plan -> SQL -> serialise."""

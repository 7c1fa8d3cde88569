"""HTTP: routing, authentication, content negotiation and the one error renderer."""

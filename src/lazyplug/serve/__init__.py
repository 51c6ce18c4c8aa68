"""Serving a module over HTTP: the wire codec, the ASGI app, the server process and its client."""

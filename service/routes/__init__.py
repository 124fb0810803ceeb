"""One blueprint per route group of the API, plus health and the OpenAPI document."""

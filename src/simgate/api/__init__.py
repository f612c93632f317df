"""HTTP edges: parse, call a service, shape the answer."""

"""HTTP around every route: Ollama's request rules, faults, the request log, the wire encoding, the servers."""

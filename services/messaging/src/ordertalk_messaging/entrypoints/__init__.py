"""How the service is driven: the HTTP API, the CLI, the orders consumer and the process supervisor."""

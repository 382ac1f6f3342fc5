"""The server: GraphQL schema, adapters, configuration and the composition root."""

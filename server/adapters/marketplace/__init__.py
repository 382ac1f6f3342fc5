"""The marketplace adapter: Mercado Livre's HTTP API (or the simulator that speaks it)."""

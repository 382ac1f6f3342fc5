"""A local Mercado Livre: the API of docs/marketplace-wire.md, served by a separate app.

It imports nothing from the rest of the project; `mlproject simulator` runs it alone and
`create_simulator_app` lets another app mount it (docs/simulator.md).
"""

from .app import create_simulator_app
from .config import SimulatorConfig, SimulatorConfigError

__all__ = ["SimulatorConfig", "SimulatorConfigError", "create_simulator_app"]

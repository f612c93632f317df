"""simgate: a self-hosted SMS and call gateway speaking the inSIM HTTP API.

`import simgate` gives the SDK only; server modules are imported by path.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]

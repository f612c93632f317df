"""The reference agent as a real process (simgate.testing, shared with the benchmarks)."""

from simgate.testing import AgentProcess as Agent

__all__ = ["Agent"]

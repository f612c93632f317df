"""The device side: protocol frames, the reference agent and its drivers."""

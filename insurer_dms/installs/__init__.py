"""Installation work orders, photo evidence, device-to-truck installations, provincial data access, progress."""

"""Procurement and inventory: purchase orders, receiving devices against them, and the device life cycle."""

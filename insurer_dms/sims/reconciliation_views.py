"""Reconciliation pages. (Being built.)"""

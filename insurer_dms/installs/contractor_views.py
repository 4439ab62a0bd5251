"""Contractor pages (phone width): my orders, order detail, close form with photo upload. (Being built.)"""

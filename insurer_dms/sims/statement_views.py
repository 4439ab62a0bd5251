"""Statement pages. (Being built.)"""

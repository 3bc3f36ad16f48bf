"""Trainer building blocks shared by plugins (plugins never import each other; shared code lives here).

Importing this package imports trl; the host itself only does so when a trainer is used.
"""

"""The acceptance suite: the deployed service tested as its users meet it.

Run against a live base URL (`pytest acceptance --base-url URL [--stage STAGE]`, README.md):
behaviour (the items flow), contract (the live OpenAPI document, property-based), performance
(a short load run held to the stage's thresholds). Each run writes a verdict, JUnit XML and a
Markdown summary.
"""

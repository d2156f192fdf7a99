"""`python -m service`: serve the API (what the container runs)."""

from service.server import main

main()

"""The Pulumi program: one project, a `shared` stack and one stack per stage.

The components live in ./stacks (a copy made by the template, so this repository stands alone).
"""

from stacks.program import main

main()

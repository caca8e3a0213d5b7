"""The web app and composition root: wires core, realtime, bots and consult into one Starlette app."""
